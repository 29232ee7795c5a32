// Faults with real servers: the attributor killed -9 mid-stream (nothing lost, nothing duplicated
// in SLUICE_EVENTS), and Redis stopped and restarted mid-stream (attribution continues from
// memory, the degradation shows on /metrics, deferred writes land when Redis is back).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EgressEvent } from '@sluice/contracts';
import { AttributorHarness, metricValue, privateServer, type ServiceProcess, stopService, waitFor } from '@sluice/testkit';

const h = new AttributorHarness();
let attributor: ServiceProcess | undefined;

/** Ready, and Docker listed: the docker check is optional for readiness, but the test's container must be known first. */
async function ready(): Promise<void> {
  await waitFor(
    'attributor ready with Docker listed',
    async () => {
      const r = await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined);
      const body = r?.ok ? ((await r.json()) as { checks?: Record<string, { ok: boolean }> }) : undefined;
      return body?.checks?.docker?.ok ? true : undefined;
    },
    60_000,
  );
}

beforeAll(async () => {
  await h.setup();
});

afterAll(async () => {
  if (attributor) await stopService(attributor, 8000);
  await h.teardown();
});

describe('attributor faults', () => {
  it('kill -9 mid-stream: every event arrives exactly once', async () => {
    const c = await h.runContainer({ 'dev.clawker.agent': 'steady', 'dev.clawker.project': `kill-${h.run}` });
    attributor = h.startAttributor();
    await ready();
    const all: string[] = [];
    const BATCHES = 120;
    let killed = false;
    for (let b = 0; b < BATCHES; b++) {
      all.push(...(await h.publishRaw(Array.from({ length: 50 }, (_, i) => ({ cgroupId: c.cgroupId, verdict: ((i % 3) + 1) as 1 | 2 | 3 })))));
      if (!killed && b === 40) {
        // Wait until it is mid-stream (some, not all, output stored), then kill without warning.
        await waitFor('partial output', async () => (h.events.length > 0 ? true : undefined));
        attributor.child.kill('SIGKILL');
        await attributor.exited;
        killed = true;
        attributor = h.startAttributor();
      }
    }
    await ready();
    await waitFor('every event', async () => (all.every((id) => h.byId().has(id)) ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 2500)); // > ACK_WAIT_MS: any late redelivery would show now (a duplicate has no condition to wait on)
    const byId = h.byId();
    const dup = [...byId].filter(([, lines]) => lines.length > 1);
    expect(dup.map(([id]) => id)).toEqual([]);
    expect(all.filter((id) => !byId.has(id))).toEqual([]);
    for (const id of all.slice(0, 50)) expect(EgressEvent.parse(byId.get(id)![0]!.doc)).toMatchObject({ agent: 'steady', container_id: c.id });
  }, 180_000);

  it('Redis stopped and restarted mid-stream: attribution continues, degradation visible, writes replayed', async () => {
    // A private Redis: this test owns what it stops, and the shared one stays up for everyone else.
    const redisServer = await privateServer('redis');
    if (attributor) await stopService(attributor, 8000);
    attributor = h.startAttributor({ REDIS_URL: redisServer.url });
    await ready();
    await redisServer.down();
    try {
      // Started while Redis is down: only the in-memory cache knows it.
      const c = await h.runContainer({ 'dev.clawker.agent': 'no-redis', 'dev.clawker.project': `redis-${h.run}` });
      await waitFor('redis seen down', async () => (metricValue(await h.metrics(), 'sluice_attributor_redis_up') === 0 ? true : undefined));
      const ids = await h.publishRaw(Array.from({ length: 20 }, () => ({ cgroupId: c.cgroupId })));
      await waitFor('events while redis is down', async () => (ids.every((id) => h.byId().has(id)) ? true : undefined));
      for (const id of ids) expect(EgressEvent.parse(h.byId().get(id)![0]!.doc)).toMatchObject({ agent: 'no-redis', container_id: c.id });
      const m = await h.metrics();
      expect(metricValue(m, 'sluice_attributor_redis_deferred_writes_total')).toBeGreaterThan(0);
      expect(metricValue(m, 'sluice_attributor_redis_pending_writes')).toBeGreaterThan(0);
      await redisServer.up();
      await waitFor('redis back and writes replayed', async () => {
        const text = await h.metrics();
        return metricValue(text, 'sluice_attributor_redis_up') === 1 && metricValue(text, 'sluice_attributor_redis_pending_writes') === 0 ? true : undefined;
      });
      // The identity written during the outage is now shared.
      const redis = new Redis(redisServer.url);
      try {
        const keys = await redis.keys(`sluice-it:${h.run}:*:cg:${c.cgroupId}`);
        expect(keys).toHaveLength(1);
        expect(JSON.parse((await redis.get(keys[0]!))!)).toMatchObject({ agent: 'no-redis', container_id: c.id });
        await redis.del(...(await redis.keys(`sluice-it:${h.run}:*`)));
      } finally {
        redis.disconnect();
      }
      const after = await h.publishRaw([{ cgroupId: c.cgroupId }]);
      await waitFor('event after recovery', async () => h.byId().get(after[0]!)?.[0]);
    } finally {
      if (attributor) await stopService(attributor, 8000);
      attributor = undefined;
      await redisServer.destroy();
    }
  });
});
