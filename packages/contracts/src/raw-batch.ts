// The SLUICE_RAW message: a batch of kernel records exactly as the ring buffer carried them, so the
// reader never re-encodes on its hot path, plus headers naming where the records come from.
//
//   subject  sluice.raw.<node>
//   body     count × RECORD_SIZE bytes, the fixed-size records back to back
//   headers  Nats-Msg-Id            <node>:<bootId>:<firstSeq>   (JetStream drops a retried batch)
//            Sluice-Node            node name
//            Sluice-Boot-Id         /proc/sys/kernel/random/boot_id of the node
//            Sluice-First-Seq       the reader's per-boot sequence number of record 0
//            Sluice-Count           number of records in the body
//            Sluice-Wall-Offset-Ns  wall-clock ns − kernel boot-clock ns when the batch was cut
//
// Record i of a batch has the event id <node>:<bootId>:<firstSeq+i>. Sequence numbers are unique
// per (node, boot) but not contiguous: a restarted reader skips ahead rather than reuse one.
import { HEADERS } from './streams.ts';

export const RAW_BATCH_CONTENT_TYPE = 'application/vnd.sluice.kernel-records';

export interface RawBatchMeta {
  node: string;
  bootId: string;
  /** Safe integer (< 2^53): the reader's sequence advances by at most ~1e9 per second of uptime. */
  firstSeq: number;
  count: number;
  /** Signed: wall ns − boot-clock ns. Record wall time = record ts_ns + this. */
  wallOffsetNs: bigint;
}

export class RawBatchError extends Error {
  constructor(message: string) {
    super(`raw batch: ${message}`);
    this.name = 'RawBatchError';
  }
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

/** Header name/value pairs for a batch, in a fixed order (Nats-Msg-Id included). */
export function rawBatchHeaders(meta: RawBatchMeta): Array<[string, string]> {
  return [
    [HEADERS.msgId, batchMsgId(meta)],
    [HEADERS.node, meta.node],
    [HEADERS.bootId, meta.bootId],
    [HEADERS.firstSeq, String(meta.firstSeq)],
    [HEADERS.count, String(meta.count)],
    [HEADERS.wallOffsetNs, meta.wallOffsetNs.toString()],
    [HEADERS.contentType, RAW_BATCH_CONTENT_TYPE],
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

/**
 * Validate a received batch: headers present and well-formed, the message id consistent with
 * them, the body exactly `count` records of `recordSize` bytes. `get` reads one header
 * (nats.js `msg.headers.get` fits; it returns '' for a missing header, treated as missing).
 */
export function parseRawBatch(
  get: (name: string) => string | undefined,
  body: Uint8Array,
  recordSize: number,
): RawBatchMeta {
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
  if (body.byteLength !== count * recordSize) {
    throw new RawBatchError(
      `body is ${body.byteLength} bytes, expected ${count} records × ${recordSize} = ${count * recordSize}`,
    );
  }
  return meta;
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
