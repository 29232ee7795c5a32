// Issue 9's fault checks: exactly N documents after a `kill -9` of the sink mid-stream and after an
// OpenSearch restart mid-stream. The restart is of a private OpenSearch node this file starts, so
// the shared one other tests use is never disturbed.
import { STREAMS } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSlice, egressEvent, openSlice, privateServer, type PrivateServer, publishEgress, scrapeValue, searchableCount, type ServiceProcess, type Slice, startSink, stopService, waitFor, waitForCount } from '@sluice/testkit';

const PORT = 19_482;
let s: Slice;
let sink: ServiceProcess | undefined;
let opensearch: PrivateServer;

beforeAll(async () => {
  opensearch = await privateServer('opensearch');
  s = await openSlice('sinkfault', opensearch.url);
}, 300_000);

afterAll(async () => {
  if (sink) await stopService(sink, 5000);
  if (s) await closeSlice(s);
  await opensearch?.destroy();
}, 120_000);

/** Publish `events` in messages of 100, pacing so the stream is still flowing while the test acts. */
function pacedPublish(events: ReturnType<typeof egressEvent>[], pauseMs: number): { done: Promise<void>; published: () => number } {
  let published = 0;
  const done = (async () => {
    for (let i = 0; i < events.length; i += 100) {
      await publishEgress(s, events.slice(i, i + 100), 100);
      published = Math.min(events.length, i + 100);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return { done, published: () => published };
}

async function consumerSettled(): Promise<void> {
  await waitFor(
    'sink consumer fully acked',
    async () => {
      const ci = await s.jsm.consumers.info(STREAMS.events.name, `${s.consumerPrefix}-egress`);
      return ci.num_pending === 0 && ci.num_ack_pending === 0 ? true : undefined;
    },
    120_000,
  );
}

const makeEvents = (from: number, n: number) => Array.from({ length: n }, (_, i) => egressEvent(from + i, { project: s.project }));

describe('sink faults', () => {
  const N = 20_000;

  it('kill -9 mid-stream: the restarted sink lands exactly N documents', async () => {
    sink = await startSink(s, PORT, { SINK_ACK_WAIT_MS: '3000' });
    const pub = pacedPublish(makeEvents(0, N), 15);
    const landed = await waitFor('some documents', async () => ((await searchableCount(s, 'egress')) >= N / 5 ? true : undefined), 60_000);
    expect(landed).toBe(true);
    sink.child.kill('SIGKILL');
    expect(await sink.exited).toBe('SIGKILL');
    const atKill = await searchableCount(s, 'egress');
    // Mid-stream for the sink: it had landed only part of what was published when it died.
    expect(atKill).toBeLessThan(N);

    sink = await startSink(s, PORT, { SINK_ACK_WAIT_MS: '3000' });
    await pub.done;
    await waitForCount(s, 'egress', N);
    await consumerSettled();
    expect(await searchableCount(s, 'egress')).toBe(N);
    console.log(`kill -9 at ${atKill}/${N} documents; after restart exactly ${N}`);
  }, 240_000);

  it('OpenSearch restart mid-stream: nothing acked while it is away, exactly N after', async () => {
    if (!sink || sink.child.exitCode !== null || sink.child.signalCode !== null) sink = await startSink(s, PORT);
    const before = await searchableCount(s, 'egress');
    const M = 10_000;
    const pub = pacedPublish(makeEvents(N, M), 20);
    await waitFor('some documents of the second run', async () => ((await searchableCount(s, 'egress')) >= before + 1000 ? true : undefined), 60_000);
    await opensearch.down();
    // The sink notices, reports not-ready, and holds what it has unacked.
    await waitFor('sink not ready', async () => ((await fetch(`http://127.0.0.1:${PORT}/readyz`)).status === 503 ? true : undefined), 60_000);
    await pub.done;
    const held = await s.jsm.consumers.info(STREAMS.events.name, `${s.consumerPrefix}-egress`);
    expect(held.num_ack_pending + held.num_pending).toBeGreaterThan(0);
    await opensearch.up();
    await waitForCount(s, 'egress', N + M, 180_000);
    await consumerSettled();
    expect(await searchableCount(s, 'egress')).toBe(N + M);
    expect(await scrapeValue(PORT, 'sluice_sink_bulk_requests_total', { result: 'failed' })).toBeGreaterThan(0);
    const r = await stopService(sink!, 8000);
    sink = undefined;
    expect(r.code).toBe(0);
  }, 420_000);
});
