// The packed SLUICE_RAW body (content type RAW_BATCH_PACKED_CONTENT_TYPE): each record without
// its trailing zero bytes. A kernel record is a fixed 256 bytes, but most kinds end their
// meaningful bytes at the command name (offset 120) and leave the 136-byte body union zero;
// JetStream's cost of storing a batch follows its bytes (bench/reader.ts, reader.size_* figures).
//
//   entry    u32 LE kept length L (0 ≤ L ≤ record size, L a multiple of 4), then the record's
//            first L bytes; entries back to back, `count` of them, nothing after the last
//   record   its L bytes followed by (record size − L) zero bytes
//
// The writer drops only zero bytes, so unpacking gives back the record byte for byte. L is a
// multiple of 4 so every entry starts 4-byte aligned: the reader packs with 32-bit word reads
// and writes rather than a native copy per record, its largest cost otherwise.
import { RawBatchError } from './raw-batch-error.ts';

export const PACKED_ENTRY_HEADER = 4;

/** Bytes a packed body may need at most for `count` records of `recordSize`. */
export function packedCapacity(count: number, recordSize: number): number {
  return count * (recordSize + PACKED_ENTRY_HEADER);
}

// Word views of the last buffers seen: a view costs an allocation, records come in runs.
let srcBuf: ArrayBufferLike | undefined;
let srcWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
let outBuf: ArrayBufferLike | undefined;
let outWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
/** The length word is written as an Int32: right only on a little-endian host (the byte path is used otherwise). */
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/**
 * Append `n` records of `recordSize` lying back to back at src[off…] to `out` at `at` (4-byte
 * aligned in out's ArrayBuffer, with packedCapacity(n) bytes of room); returns the new end.
 */
export function packRecords(src: Uint8Array, off: number, n: number, recordSize: number, out: Uint8Array, at: number): number {
  if (recordSize % 4 !== 0) throw new RawBatchError(`record size ${recordSize} is not a multiple of 4`);
  const outAbs = out.byteOffset + at;
  if (outAbs % 4 !== 0) throw new RawBatchError(`packed output at byte ${outAbs} is not 4-byte aligned`);
  if (off < 0 || off + n * recordSize > src.byteLength) throw new RawBatchError(`${n} records at byte ${off} overrun a source of ${src.byteLength} bytes`);
  if (at + packedCapacity(n, recordSize) > out.byteLength) {
    throw new RawBatchError(`packed output of ${out.byteLength} bytes has no room at byte ${at} for ${n} records`);
  }
  if (BIG_ENDIAN || (src.byteOffset + off) % 4 !== 0) return packBytes(src, off, n, recordSize, out, at);
  if (src.buffer !== srcBuf) {
    srcWords = new Int32Array(src.buffer, 0, src.buffer.byteLength >> 2);
    srcBuf = src.buffer;
  }
  if (out.buffer !== outBuf) {
    outWords = new Int32Array(out.buffer, 0, out.buffer.byteLength >> 2);
    outBuf = out.buffer;
  }
  const sw = srcWords;
  const ow = outWords;
  const recWords = recordSize >> 2;
  let s = (src.byteOffset + off) >> 2;
  let o = outAbs >> 2;
  // Four words a step where it can (a third less time than one at a time: the per-record cost
  // here is the reader's largest in JavaScript).
  for (let i = 0; i < n; i++, s += recWords) {
    let e = s + recWords;
    while (e > s + 3 && (sw[e - 1]! | sw[e - 2]! | sw[e - 3]! | sw[e - 4]!) === 0) e -= 4;
    while (e > s && sw[e - 1] === 0) e--;
    const k = e - s;
    ow[o++] = k << 2;
    let j = 0;
    for (; j + 4 <= k; j += 4) {
      ow[o + j] = sw[s + j]!;
      ow[o + j + 1] = sw[s + j + 1]!;
      ow[o + j + 2] = sw[s + j + 2]!;
      ow[o + j + 3] = sw[s + j + 3]!;
    }
    for (; j < k; j++) ow[o + j] = sw[s + j]!;
    o += k;
  }
  return (o << 2) - out.byteOffset;
}

/** The same entries for a source that is not 4-byte aligned (a record the splitter resynchronised onto). */
function packBytes(src: Uint8Array, off: number, n: number, recordSize: number, out: Uint8Array, at: number): number {
  for (let i = 0; i < n; i++, off += recordSize) {
    let e = off + recordSize;
    while (e > off && src[e - 1] === 0) e--;
    const kept = (e - off + 3) & ~3;
    out[at] = kept & 0xff;
    out[at + 1] = kept >> 8;
    out[at + 2] = 0;
    out[at + 3] = 0;
    out.set(src.subarray(off, off + kept), at + PACKED_ENTRY_HEADER);
    at += PACKED_ENTRY_HEADER + kept;
  }
  return at;
}

/** A whole fixed-stride body packed into a new array (tests, fixtures). */
export function packBody(records: Uint8Array, recordSize: number): Uint8Array {
  if (records.byteLength % recordSize !== 0) throw new RawBatchError(`${records.byteLength} bytes is not a whole number of ${recordSize}-byte records`);
  const n = records.byteLength / recordSize;
  const out = new Uint8Array(packedCapacity(n, recordSize));
  return out.subarray(0, packRecords(records, 0, n, recordSize, out, 0));
}

/**
 * The records of a packed body, zero-extended to `count` × `recordSize` bytes. A body that does
 * not hold exactly `count` well-formed entries is refused, naming the first bad record.
 * `alloc`: where the records go (a pooled buffer, any contents, at least as big as asked; default a
 * new zeroed one). Every byte of the result is written, the zero tails included.
 */
export function unpackBody(body: Uint8Array, count: number, recordSize: number, alloc?: (size: number) => Uint8Array): Uint8Array {
  const size = count * recordSize;
  const len = body.byteLength;
  // The packed body goes after the records' room, in the same buffer, and each record is moved
  // into place by copyWithin: one native move a record and no allocation, where a subarray and a
  // set a record cost twice as much. The records never reach bytes not yet read: entry i starts
  // at or after byte size + 4·i and ends before the room's end.
  const buf = alloc ? alloc(size + len) : new Uint8Array(size + len);
  if (alloc) buf.fill(0, 0, size);
  buf.set(body, size);
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (len - p < PACKED_ENTRY_HEADER) {
      throw new RawBatchError(`packed body of ${len} bytes ends at record ${i} of ${count}: no length at byte ${p}`);
    }
    const kept = (body[p]! | (body[p + 1]! << 8) | (body[p + 2]! << 16)) + body[p + 3]! * 2 ** 24; // u32: | alone would sign it
    if (kept > recordSize) throw new RawBatchError(`packed record ${i}: length ${kept} at byte ${p} exceeds the ${recordSize}-byte record`);
    if (kept % 4 !== 0) throw new RawBatchError(`packed record ${i}: length ${kept} at byte ${p} is not a multiple of 4`);
    p += PACKED_ENTRY_HEADER;
    if (len - p < kept) throw new RawBatchError(`packed record ${i}: needs ${kept} bytes at byte ${p}, the body has ${len - p} left (truncated)`);
    if (kept > 0) buf.copyWithin(i * recordSize, size + p, size + p + kept);
    p += kept;
  }
  if (p !== len) throw new RawBatchError(`packed body has ${len - p} bytes after its last record (record ${count - 1} ends at byte ${p}): more records than the count of ${count}`);
  return buf.subarray(0, size);
}
