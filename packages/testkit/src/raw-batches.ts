// SLUICE_RAW batches of encoded kernel records, with the headers the reader sets, for tests and
// benchmarks that feed the attributor without a kernel.
import { randomUUID } from 'node:crypto';
import { KERNEL_RECORD_SIZE, packBody, rawBatchHeaders, type RawBatchEncoding, type RawBatchMeta } from '@sluice/contracts';
import { encodeRecord, type RecordSpec } from './kernel-records.ts';

export interface RawBatchFixture {
  meta: RawBatchMeta;
  /** The message body, in `encoding`. */
  body: Uint8Array;
  /** The records at a fixed stride (what parseRawBatch gives a consumer). */
  records: Uint8Array;
  headers: Array<[string, string]>;
}

/** `encoding`: the body's format; 'packed' is what the reader writes, 'fixed' what older readers wrote. */
export function encodeBatch(
  records: RecordSpec[],
  meta: Partial<RawBatchMeta> & { node: string; firstSeq: number },
  encoding: RawBatchEncoding = 'fixed',
): RawBatchFixture {
  const full: RawBatchMeta = {
    bootId: meta.bootId ?? randomUUID(),
    wallOffsetNs: meta.wallOffsetNs ?? 0n,
    ...meta,
    count: records.length,
  };
  const fixed = new Uint8Array(records.length * KERNEL_RECORD_SIZE);
  records.forEach((r, i) => encodeRecord(r, fixed, i * KERNEL_RECORD_SIZE));
  const body = encoding === 'packed' ? packBody(fixed, KERNEL_RECORD_SIZE) : fixed;
  return { meta: full, body, records: fixed, headers: rawBatchHeaders(full, encoding) };
}

/** Header getter over fixture headers, shaped like nats.js `msg.headers.get`. */
export function headerGetter(headers: Array<[string, string]>): (name: string) => string | undefined {
  const m = new Map(headers);
  return (name) => m.get(name);
}
