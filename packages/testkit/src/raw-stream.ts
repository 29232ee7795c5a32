// Reads back what a reader published for one node: every SLUICE_RAW batch on sluice.raw.<node>,
// validated with the contracts parser, records with their event ids.
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { KERNEL_RECORD_SIZE as RECORD_SIZE, parseRawBatch, recordEventId, STREAMS, subjects, type RawBatchMeta } from '@sluice/contracts';

export interface RawRecord {
  id: string;
  meta: RawBatchMeta;
  rec: Buffer;
}

export async function readRaw(nc: NatsConnection, node: string): Promise<{ batches: number; records: RawRecord[] }> {
  const jsm = await jetstreamManager(nc);
  const subject = subjects.raw(node);
  const info = await jsm.streams.info(STREAMS.raw.name, { subjects_filter: subject }).catch(() => undefined);
  const total = (info?.state.subjects as Record<string, number> | undefined)?.[subject] ?? 0;
  const records: RawRecord[] = [];
  if (total === 0) return { batches: 0, records };
  const js = jetstream(nc);
  const c = await js.consumers.get(STREAMS.raw.name, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  let batches = 0;
  // Pages of bounded size: one pull for hundreds of 256 KiB batches comes back short.
  while (batches < total) {
    const iter = await c.fetch({ max_messages: Math.min(64, total - batches), expires: 5000 });
    let got = 0;
    for await (const m of iter) {
      got++;
      const { meta, records: fixed } = parseRawBatch((k) => m.headers?.get(k), m.data, RECORD_SIZE);
      const body = Buffer.from(fixed);
      for (let i = 0; i < meta.count; i++) records.push({ id: recordEventId(meta, i), meta, rec: body.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE) });
      batches++;
    }
    if (got === 0) throw new Error(`read ${batches} of ${total} batches on ${subject}, then nothing more`);
  }
  await c.delete().catch(() => undefined);
  return { batches, records };
}

export async function purgeRaw(nc: NatsConnection, node: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(STREAMS.raw.name, { filter: subjects.raw(node) }).catch(() => undefined);
}
