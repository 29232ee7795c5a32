// Two of the three consumers of the sink peer bench, each timed over its own work and charged the
// CPU of its own process: the real Sluice sink (a child, draining a backlog from JetStream into
// OpenSearch, acking after OpenSearch accepted) and a plain `_bulk` loader in this process sending
// the same documents prebuilt. Both send bulks of `bulk` docs, two in flight, into data streams
// made by the same templates, as bench/sink.ts does.
import { STREAMS } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import { dataStreamName, ensureTemplates, parseBatch, SOURCES, templateName } from '@sluice/store';
import { egressEvent, publishEgress, searchableCount, type Slice, sliceEnv, startService, stopService } from '@sluice/testkit';
import type { ConsumerResult } from './otelcol-peer.ts';
import { cpuSeconds } from './proc.ts';

const CONCURRENCY = 2;
type Event = ReturnType<typeof egressEvent>;

/** Documents exactly as the sink builds and serializes them. */
export function documentsOf(events: Event[]): Array<{ id: string; json: string }> {
  return parseBatch('egress', events.map((e) => JSON.stringify(e)).join('\n'), new Date().toISOString()).docs.map((d) => ({ id: d.id, json: d.json }));
}

export async function plainBulk(s: Slice, prefix: string, docs: Array<{ id: string; json: string }>, bulk: number): Promise<ConsumerResult> {
  await ensureTemplates(s.os, prefix, createLogger('bench', 'silent'));
  const index = dataStreamName(prefix, 'egress');
  const bulks: string[][] = [];
  for (let i = 0; i < docs.length; i += bulk) {
    bulks.push(docs.slice(i, i + bulk).flatMap((d) => [`{"create":{"_index":"${index}","_id":${JSON.stringify(d.id)}}}`, d.json]));
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bulks.length) {
      const body = bulks[next++]!;
      const r = await s.os.bulk({ body, filter_path: 'errors' } as never);
      if ((r.body as { errors?: boolean }).errors) throw new Error('plain loader: bulk had item errors');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await s.os.indices.refresh({ index });
  const count = ((await s.os.count({ index })).body as { count: number }).count;
  if (count !== docs.length) throw new Error(`plain loader stored ${count} of ${docs.length}`);
  for (const src of SOURCES) {
    await s.os.indices.deleteDataStream({ name: dataStreamName(prefix, src) });
    await s.os.indices.deleteIndexTemplate({ name: templateName(prefix, src) });
  }
  return { docs: docs.length, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * The backlog is published first, so the window holds only the sink's work (pull, validate, build,
 * bulk, ack). The clock and the CPU count start when the consumer first hands out a message.
 */
export async function sluiceSink(s: Slice, events: Event[], perMessage: number, bulk: number, port: number): Promise<ConsumerResult> {
  await publishEgress(s, events, perMessage);
  const sink = startService(
    'sink',
    sliceEnv(s, port, { LOG_LEVEL: 'warn', SINK_BULK_MIN_DOCS: String(bulk), SINK_BULK_MAX_DOCS: String(bulk), SINK_BULK_CONCURRENCY: String(CONCURRENCY) }),
  );
  try {
    const info = () => s.jsm.consumers.info(STREAMS.events.name, `${s.consumerPrefix}-egress`).catch(() => undefined);
    let t0 = 0;
    let cpu0 = 0;
    for (;;) {
      if (sink.child.exitCode !== null) throw new Error(`sink exited: ${sink.stderr()}`);
      const ci = await info();
      if (ci && t0 === 0 && ci.delivered.stream_seq > 0) {
        t0 = performance.now();
        cpu0 = cpuSeconds(sink.child.pid!);
      }
      if (ci && t0 > 0 && ci.num_pending === 0 && ci.num_ack_pending === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(sink.child.pid!) - cpu0;
    const count = await searchableCount(s, 'egress');
    if (count !== events.length) throw new Error(`sink stored ${count} of ${events.length}`);
    return { docs: events.length, seconds, cpuSeconds: cpu };
  } finally {
    await stopService(sink, 5000);
  }
}
