// Long and odd label values through the real attributor (child process) on a private NATS and
// Redis: a 4 KB label travels exactly in the payload under a bounded subject token, without ever
// breaking the attributor's NATS connection (control line 4096) or being redelivered; control
// characters travel exactly; values that cannot be carried (64 KB, lone surrogates, invalid UTF-8
// bytes) are refused with the reason. Docker is not used here (the Docker path's rejection and
// DLQ is the same pure check, covered by inspect/label-dlq unit tests).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { EgressEvent, eventSubjectTokens, isBoundedToken, MAX_TOKEN_LENGTH, STREAMS, subjects } from '@sluice/contracts';
import { createLogger, ensureStream, metricValue } from '@sluice/runtime';
import { encodeBatch, freePort, privateServer, startService, stopService, waitFor, type PrivateServer, type ServiceProcess } from '@sluice/testkit';

const run = randomUUID().slice(0, 8);
const node = `labels-it-${run}`;
const bootId = randomUUID();
let nats: PrivateServer;
let redis: PrivateServer;
let nc: NatsConnection;
let attributor: ServiceProcess;
let metricsPort = 0;
let seq = 1;
const events: Array<{ subject: string; doc: Record<string, unknown> }> = [];

beforeAll(async () => {
  [nats, redis] = await Promise.all([privateServer('nats'), privateServer('redis')]);
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  for (const s of [STREAMS.raw, STREAMS.events, STREAMS.control]) await ensureStream(jsm, s, createLogger('labels-it', 'silent'));
  const c = await jetstream(nc).consumers.get(STREAMS.events.name, { filter_subjects: subjects.eventsAll, deliver_policy: DeliverPolicy.All });
  const iter = await c.consume();
  void (async () => {
    for await (const m of iter) for (const line of m.string().split('\n')) if (line) events.push({ subject: m.subject, doc: JSON.parse(line) as Record<string, unknown> });
  })();
  metricsPort = await freePort();
  attributor = startService('attributor', {
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    NODE_NAME: node,
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'info',
    DOCKER_SOCKET: `/nonexistent/${run}.sock`,
    ACK_WAIT_MS: '2000',
  });
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
}, 180_000);

afterAll(async () => {
  if (attributor) {
    const r = await stopService(attributor, 8000);
    if (r.killed || r.code !== 0) console.error(attributor.stderr().slice(-3000));
  }
  await nc?.close();
  await Promise.allSettled([nats?.destroy(), redis?.destroy()]);
});

async function register(body: Record<string, unknown> | Uint8Array): Promise<{ ok: boolean; identity?: Record<string, unknown> | null; error?: { code: string; message: string } }> {
  const data = body instanceof Uint8Array ? body : JSON.stringify({ node, ...body });
  return (await nc.request(subjects.api('identity', 'register'), data, { timeout: 5000 })).json();
}

async function publishRaw(cgroupIds: bigint[]): Promise<string[]> {
  const firstSeq = seq;
  seq += cgroupIds.length;
  const now = BigInt(Date.now()) * 1_000_000n;
  const b = encodeBatch(
    cgroupIds.map((cgroupId) => ({ cgroupId, tsNs: now, verdict: 2 as const })),
    { node, bootId, firstSeq, wallOffsetNs: 0n },
  );
  const h = natsHeaders();
  for (const [k, v] of b.headers) h.set(k, v);
  await jetstream(nc).publish(subjects.raw(node), b.body, { headers: h, msgID: h.get('Nats-Msg-Id') });
  return cgroupIds.map((_, i) => `${node}:${bootId}:${firstSeq + i}`);
}

const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();

describe('long and odd label values (real attributor, private NATS + Redis)', () => {
  it('carries a 4 KB label and control characters exactly, under a bounded subject, with no retries', async () => {
    const project = `long-${run}-` + 'p.'.repeat(2048); // 4 KB of characters that all need escaping half the time
    const agent = 'ctl\u0000\u0007\u001b[31m\r\nend ✓';
    const plain = { project: `plain-${run}`, agent: 'a1' };
    const long = await register({ cgroup_id: '900001', project, agent });
    expect(long).toMatchObject({ ok: true });
    expect((await register({ cgroup_id: '900002', ...plain })).ok).toBe(true);
    const ids = await publishRaw([900001n, 900002n, 900001n]);
    // A second batch after the long one: the connection that carried it still works.
    const later = await publishRaw([900002n, 900001n]);
    const all = [...ids, ...later];
    await waitFor('all events', async () => (all.every((id) => events.some((e) => e.doc.id === id)) ? true : undefined));
    for (const id of all) expect(events.filter((e) => e.doc.id === id), id).toHaveLength(1);
    const longEvents = events.filter((e) => e.doc.cgroup_id === '900001');
    expect(longEvents).toHaveLength(3);
    for (const e of longEvents) {
      expect(EgressEvent.parse(e.doc)).toMatchObject({ attribution: 'registered', project, agent });
      expect(e.subject.length).toBeLessThan(2 * MAX_TOKEN_LENGTH + 40);
      const t = eventSubjectTokens(e.subject);
      expect(isBoundedToken(t.project)).toBe(true);
      expect(t.project).toBe(subjects.events(project, agent, 'DENIED').split('.')[2]);
    }
    expect(events.find((e) => e.doc.cgroup_id === '900002')!.subject).toBe(`sluice.events.plain-${run}.a1.DENIED`);
    const m = await metrics();
    expect(metricValue(m, 'sluice_attributor_batches_retried_total')).toBe(0);
    expect(metricValue(m, 'sluice_events_dropped_total', { stage: 'attributor' })).toBe(0);
    expect(attributor.stderr() + attributor.stdout()).not.toMatch(/disconnect|MAX_CONTROL_LINE|maximum control line/i);
  });

  it('refuses values it cannot carry, naming the label and the reason', async () => {
    const big = await register({ cgroup_id: '900003', project: 'p'.repeat(64 * 1024) });
    expect(big.ok).toBe(false);
    expect(big.error).toEqual({ code: 'bad_request', message: 'project: label_too_long: 65536 bytes, over the 16384-byte limit' });
    // JSON can spell a lone surrogate; UTF-8 cannot carry it.
    const lone = await register(new TextEncoder().encode(`{"node":"${node}","cgroup_id":"900004","agent":"a\\ud800b"}`));
    expect(lone).toEqual({ ok: false, error: { code: 'bad_request', message: 'agent: label_not_unicode: lone UTF-16 surrogate at offset 1: no exact UTF-8 form' } });
    const bytes = new Uint8Array([...new TextEncoder().encode(`{"node":"${node}","cgroup_id":"900005","project":"x`), 0xff, 0xfe, ...new TextEncoder().encode('"}')]);
    expect(await register(bytes)).toEqual({ ok: false, error: { code: 'bad_request', message: 'request is not valid UTF-8' } });
    // Nothing of them reached the cache, and the attributor still serves.
    const ids = await publishRaw([900003n]);
    await waitFor('event', async () => events.find((e) => e.doc.id === ids[0]));
    expect(events.find((e) => e.doc.id === ids[0])!.doc.attribution).toBe('unknown');
  });
});
