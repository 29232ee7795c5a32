// The policy service's KV watches on a real NATS KV bucket of this run's own: a failure while
// handling a change (a revision that cannot be loaded, a sync that throws) used to end the watch
// for good with readiness still green. Now readiness goes red, the watch restarts, catches up with
// the current revision and keeps following.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { createLogger, ensureKv, Readiness } from '@sluice/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyStore, type Revision, type StoredRevision } from './store.ts';
import { watchBypasses, watchDocument, WATCH_CHECKS, type SyncInputs } from './watches.ts';

const log = createLogger('watch-test', 'silent');
let nc: NatsConnection;
let kv: KV;
let store: PolicyStore;

const rev = (n: number): StoredRevision => ({
  meta: { time: new Date().toISOString(), actor: 'test', sha256: `sha-${n}` },
  yaml: `version: 1\n# ${n}\npolicies: []\n`,
  ids: { next_policy_id: 1, policies: {} },
});

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  kv = await ensureKv(nc, `watchtest-${randomBytes(4).toString('hex')}`, 8);
  store = new PolicyStore(kv);
});

afterAll(async () => {
  await kv?.destroy().catch(() => undefined);
  await nc?.close();
});

describe('policy KV watches heal themselves', () => {
  it('a failing change handler turns readiness red, restarts the watch, which catches up and follows', async () => {
    const seen: number[] = [];
    let failNext = false;
    const sync: SyncInputs = {
      setRevision: (r: Revision | undefined) => {
        if (failNext) {
          failNext = false;
          throw new Error('injected: sync refused the revision');
        }
        if (r) seen.push(r.revision);
      },
      setBypasses: () => undefined,
      trigger: async () => undefined,
    };
    const readiness = new Readiness();
    const history: string[] = [];
    const set = readiness.set.bind(readiness);
    readiness.set = (name, ok, detail, opts) => {
      if (name === WATCH_CHECKS.document) history.push(`${ok ? 'green' : 'red'}: ${detail}`);
      set(name, ok, detail, opts);
    };
    const restarts: string[] = [];
    const first = await store.put(rev(1), 0);
    const loop = watchDocument({ kv, store, sync, log, readiness, initialBackoffMs: 50, onRestart: (l, reason) => restarts.push(`${l}: ${reason}`) });
    try {
      await until('the current revision', () => seen.includes(first));
      expect(readiness.ready).toBe(true);

      failNext = true;
      const second = await store.put(rev(2), first);
      await until('a restart', () => restarts.length === 1);
      expect(restarts).toEqual([`${WATCH_CHECKS.document}: injected: sync refused the revision`]);
      expect(history).toContain(`red: ${WATCH_CHECKS.document} down (injected: sync refused the revision); restarting in 50 ms`);
      // The restarted watch delivers the current value first: the revision that failed is not lost.
      await until('the missed revision after the restart', () => seen.includes(second));
      expect(readiness.ready).toBe(true);

      const third = await store.put(rev(3), second);
      await until('the next revision', () => seen.includes(third));
      expect(seen).toEqual([first, second, third]);
      expect(history.at(-1)).toBe(`green: ${WATCH_CHECKS.document}: running`);
    } finally {
      await loop.stop();
    }
  });

  it('the bypass watch restarts the same way when loading bypasses throws', async () => {
    let calls = 0;
    let loaded = 0;
    const sync: SyncInputs = { setRevision: () => undefined, setBypasses: () => void loaded++, trigger: async () => undefined };
    const flaky = new PolicyStore(kv);
    const real = flaky.bypasses.bind(flaky);
    flaky.bypasses = async () => {
      if (++calls === 1) throw new Error('injected: bypass list unreadable');
      return real();
    };
    const readiness = new Readiness();
    const loop = watchBypasses({ kv, store: flaky, sync, log, readiness, initialBackoffMs: 50 });
    try {
      await flaky.putBypass({ id: 'b1', agent: 'a', expires_at: new Date(Date.now() + 60_000).toISOString(), actor: 't', reason: 'r', created_at: new Date().toISOString() });
      await until('bypasses loaded after the restart', () => loaded >= 1);
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(readiness.snapshot()[WATCH_CHECKS.bypass]).toMatchObject({ ok: true });
    } finally {
      await loop.stop();
    }
  });
});
