// SLUICE_RAW batches of encoded kernel records, with the headers the reader sets, for tests and
// benchmarks that feed the attributor without a kernel.
import { randomUUID } from 'node:crypto';
import { KERNEL_RECORD_SIZE, rawBatchHeaders, type RawBatchMeta } from '@sluice/contracts';
import { encodeRecord, type RecordSpec } from './kernel-records.ts';

export interface RawBatchFixture {
  meta: RawBatchMeta;
  body: Uint8Array;
  headers: Array<[string, string]>;
}

export function encodeBatch(records: RecordSpec[], meta: Partial<RawBatchMeta> & { node: string; firstSeq: number }): RawBatchFixture {
  const full: RawBatchMeta = {
    bootId: meta.bootId ?? randomUUID(),
    wallOffsetNs: meta.wallOffsetNs ?? 0n,
    ...meta,
    count: records.length,
  };
  const body = new Uint8Array(records.length * KERNEL_RECORD_SIZE);
  records.forEach((r, i) => encodeRecord(r, body, i * KERNEL_RECORD_SIZE));
  return { meta: full, body, headers: rawBatchHeaders(full) };
}

/** Header getter over fixture headers, shaped like nats.js `msg.headers.get`. */
export function headerGetter(headers: Array<[string, string]>): (name: string) => string | undefined {
  const m = new Map(headers);
  return (name) => m.get(name);
}
