// SUPPRESSED: a userspace-only record kind written by the bpf-reader's per-cgroup rate limiter
// (P14), so what it held back reaches SLUICE_RAW as data, in the same fixed 256-byte layout as
// kernel records (bpf/record.h), instead of being silently lost.
//
// Kinds from 0x80 up are reserved for userspace writers; the kernel's enum stops well below.
// Header: copied from the last suppressed record of the cgroup (cgroup_id, pid, comm,
// destination, verdict of a representative attempt), with kind = SUPPRESSED and ts_ns = the
// last suppressed record's time. Body (offset 120), little-endian u64 slots:
//   [0] count of records suppressed in the summary interval
//   [1] ts_ns of the first, [2] ts_ns of the last (kernel boot clock, like every ts_ns)
//   [3] of those, verdict NONE, [4] ALLOWED, [5] DENIED, [6] BYPASSED
export const KIND_SUPPRESSED = 0x80;
export const USERSPACE_KIND_MIN = 0x80;

const RECORD_SIZE = 256;
const OFF_KIND = 1;
const OFF_TS = 16;
const OFF_BODY = 120;

export interface SuppressedSummary {
  count: number;
  firstTsNs: bigint;
  lastTsNs: bigint;
  /** Counts by verdict code: [NONE, ALLOWED, DENIED, BYPASSED]. */
  byVerdict: [number, number, number, number];
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Write a SUPPRESSED record into out[off, off+256) from a template record (the last suppressed). */
export function encodeSuppressed(out: Uint8Array, off: number, template: Uint8Array, s: SuppressedSummary): void {
  if (template.byteLength < RECORD_SIZE) throw new Error(`suppressed record: template is ${template.byteLength} bytes, need ${RECORD_SIZE}`);
  out.set(template.subarray(0, OFF_BODY), off);
  out.fill(0, off + OFF_BODY, off + RECORD_SIZE);
  const v = view(out);
  v.setUint8(off + OFF_KIND, KIND_SUPPRESSED);
  v.setBigUint64(off + OFF_TS, s.lastTsNs, true);
  const slots = [BigInt(s.count), s.firstTsNs, s.lastTsNs, ...s.byVerdict.map(BigInt)];
  slots.forEach((x, i) => v.setBigUint64(off + OFF_BODY + i * 8, x, true));
}

export function decodeSuppressed(rec: Uint8Array): SuppressedSummary {
  if (rec.byteLength < RECORD_SIZE) throw new Error(`suppressed record: ${rec.byteLength} bytes, need ${RECORD_SIZE}`);
  if (rec[OFF_KIND] !== KIND_SUPPRESSED) throw new Error(`suppressed record: kind is ${rec[OFF_KIND]}, not ${KIND_SUPPRESSED}`);
  const v = view(rec);
  const slot = (i: number) => v.getBigUint64(OFF_BODY + i * 8, true);
  return {
    count: Number(slot(0)),
    firstTsNs: slot(1),
    lastTsNs: slot(2),
    byVerdict: [Number(slot(3)), Number(slot(4)), Number(slot(5)), Number(slot(6))],
  };
}
