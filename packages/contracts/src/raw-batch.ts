// The SLUICE_RAW message: a batch of kernel records as the ring buffer carried them (the reader
// never decodes on its hot path), plus headers naming where the records come from.
//
//   subject  sluice.raw.<node>
//   body     by Content-Type:
//            RAW_BATCH_CONTENT_TYPE         count × RECORD_SIZE bytes, the fixed-size records back
//                                           to back (readers before the packed format wrote this)
//            RAW_BATCH_PACKED_CONTENT_TYPE  each record without its trailing zero bytes, after its
//                                           kept length (raw-batch-packed.ts); what a reader writes
//            A consumer gets count × RECORD_SIZE bytes either way from parseRawBatch.
//   headers  Nats-Msg-Id            <node>:<bootId>:<firstSeq>   (JetStream drops a retried batch)
//            Sluice-Node            node name
//            Sluice-Boot-Id         /proc/sys/kernel/random/boot_id of the node
//            Sluice-First-Seq       the reader's per-boot sequence number of record 0
//            Sluice-Count           number of records in the body
//            Sluice-Wall-Offset-Ns  wall-clock ns − kernel boot-clock ns when the batch was cut
//            Content-Type           the body's format (above); absent: fixed
//
// Record i of a batch has the event id <node>:<bootId>:<firstSeq+i>. Sequence numbers are unique
// per (node, boot) but not contiguous: a restarted reader skips ahead rather than reuse one.
import { RawBatchError } from './raw-batch-error.ts';
import { unpackBody } from './raw-batch-packed.ts';
import { HEADERS } from './streams.ts';

export { RawBatchError } from './raw-batch-error.ts';
export { packBody, packedCapacity, packRecords, unpackBody, PACKED_ENTRY_HEADER } from './raw-batch-packed.ts';

/** Fixed body: count × RECORD_SIZE bytes. */
export const RAW_BATCH_CONTENT_TYPE = 'application/vnd.sluice.kernel-records';
/** Packed body: each record's kept length, then its bytes up to its trailing zeros (raw-batch-packed.ts). */
export const RAW_BATCH_PACKED_CONTENT_TYPE = 'application/vnd.sluice.kernel-records+packed';
export type RawBatchEncoding = 'fixed' | 'packed';

export interface RawBatchMeta {
  node: string;
  bootId: string;
  /** Safe integer (< 2^53): the reader's sequence advances by at most ~1e9 per second of uptime. */
  firstSeq: number;
  count: number;
  /** Signed: wall ns − boot-clock ns. Record wall time = record ts_ns + this. */
  wallOffsetNs: bigint;
}

/** A validated batch: its headers, and its records at a fixed stride whatever the body's format. */
export interface RawBatch {
  meta: RawBatchMeta;
  encoding: RawBatchEncoding;
  /** count × recordSize bytes: the message body itself (fixed) or its records zero-extended (packed). */
  records: Uint8Array;
}

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Event id of one record; also the prefix scheme of the batch's Nats-Msg-Id. */
export function eventId(node: string, bootId: string, seq: number): string {
  return `${node}:${bootId}:${seq}`;
}

export function batchMsgId(meta: Pick<RawBatchMeta, 'node' | 'bootId' | 'firstSeq'>): string {
  return eventId(meta.node, meta.bootId, meta.firstSeq);
}

/** Event id of record `index` of a batch. */
export function recordEventId(meta: RawBatchMeta, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= meta.count) {
    throw new RawBatchError(`record index ${index} outside 0..${meta.count - 1}`);
  }
  return eventId(meta.node, meta.bootId, meta.firstSeq + index);
}

/** Header name/value pairs for a batch, in a fixed order (Nats-Msg-Id included); `encoding` names the body's format. */
export function rawBatchHeaders(meta: RawBatchMeta, encoding: RawBatchEncoding = 'fixed'): Array<[string, string]> {
  return [
    [HEADERS.msgId, batchMsgId(meta)],
    [HEADERS.node, meta.node],
    [HEADERS.bootId, meta.bootId],
    [HEADERS.firstSeq, String(meta.firstSeq)],
    [HEADERS.count, String(meta.count)],
    [HEADERS.wallOffsetNs, meta.wallOffsetNs.toString()],
    [HEADERS.contentType, encoding === 'packed' ? RAW_BATCH_PACKED_CONTENT_TYPE : RAW_BATCH_CONTENT_TYPE],
  ];
}

function required(get: (name: string) => string | undefined, name: string): string {
  const v = get(name);
  if (v === undefined || v === '') throw new RawBatchError(`header ${name} is missing`);
  return v;
}

function nonNegativeInt(name: string, v: string): number {
  if (!/^\d{1,16}$/.test(v)) throw new RawBatchError(`header ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RawBatchError(`header ${name} ${v} is beyond 2^53`);
  return n;
}

/** The body format a Content-Type names; absent or empty: fixed (every reader has set it, but a hand-made batch may not). */
export function rawBatchEncoding(contentType: string | undefined): RawBatchEncoding {
  if (contentType === undefined || contentType === '' || contentType === RAW_BATCH_CONTENT_TYPE) return 'fixed';
  if (contentType === RAW_BATCH_PACKED_CONTENT_TYPE) return 'packed';
  throw new RawBatchError(`header ${HEADERS.contentType} ${JSON.stringify(contentType)} names no raw batch format (want ${RAW_BATCH_CONTENT_TYPE} or ${RAW_BATCH_PACKED_CONTENT_TYPE})`);
}

/**
 * Validate a received batch: headers present and well-formed, the message id consistent with
 * them, the body exactly `count` records of `recordSize` bytes in the format its Content-Type
 * names. `get` reads one header (nats.js `msg.headers.get` fits; it returns '' for a missing
 * header, treated as missing). The records come back at a fixed stride either way. `alloc`: where
 * a packed body's records are unpacked to (unpackBody); a fixed body is returned as it is.
 */
export function parseRawBatch(
  get: (name: string) => string | undefined,
  body: Uint8Array,
  recordSize: number,
  alloc?: (size: number) => Uint8Array,
): RawBatch {
  const node = required(get, HEADERS.node);
  const bootId = required(get, HEADERS.bootId);
  if (!BOOT_ID.test(bootId)) throw new RawBatchError(`header ${HEADERS.bootId} is not a boot id: ${JSON.stringify(bootId)}`);
  const firstSeq = nonNegativeInt(HEADERS.firstSeq, required(get, HEADERS.firstSeq));
  const count = nonNegativeInt(HEADERS.count, required(get, HEADERS.count));
  if (count === 0) throw new RawBatchError(`header ${HEADERS.count} is 0: an empty batch is never published`);
  const offset = required(get, HEADERS.wallOffsetNs);
  if (!/^-?\d{1,20}$/.test(offset)) {
    throw new RawBatchError(`header ${HEADERS.wallOffsetNs} must be a signed integer, got ${JSON.stringify(offset)}`);
  }
  const meta: RawBatchMeta = { node, bootId, firstSeq, count, wallOffsetNs: BigInt(offset) };
  const msgId = get(HEADERS.msgId);
  if (msgId !== undefined && msgId !== '' && msgId !== batchMsgId(meta)) {
    throw new RawBatchError(`header ${HEADERS.msgId} ${JSON.stringify(msgId)} disagrees with node/boot/first-seq headers`);
  }
  const encoding = rawBatchEncoding(get(HEADERS.contentType));
  return { meta, encoding, records: bodyRecords(encoding, body, count, recordSize, alloc) };
}

/** A body's records at a fixed stride: the body itself (fixed) or unpacked (packed); refuses a body that is not `count` records. */
export function bodyRecords(encoding: RawBatchEncoding, body: Uint8Array, count: number, recordSize: number, alloc?: (size: number) => Uint8Array): Uint8Array {
  if (encoding === 'packed') return unpackBody(body, count, recordSize, alloc);
  if (body.byteLength !== count * recordSize) {
    throw new RawBatchError(
      `body is ${body.byteLength} bytes, expected ${count} records × ${recordSize} = ${count * recordSize}`,
    );
  }
  return body;
}

/** Record `index` of a batch body, as a view (no copy). */
export function batchRecord(body: Uint8Array, index: number, recordSize: number): Uint8Array {
  const start = index * recordSize;
  if (index < 0 || start + recordSize > body.byteLength) {
    throw new RawBatchError(`record index ${index} outside a body of ${body.byteLength / recordSize} records`);
  }
  return body.subarray(start, start + recordSize);
}

/** Wall-clock time of a record in ns since the epoch. */
export function recordWallNs(tsNs: bigint, wallOffsetNs: bigint): bigint {
  return tsNs + wallOffsetNs;
}
