// OTLP AnyValue / KeyValue / int64 / timestamps → plain JSON values, as they are stored.
import type { OtlpValue } from '@sluice/contracts';
import type { Int64, PbAnyValue, PbKeyValue } from './proto.ts';

/** int64 as a JSON number when exact, else its decimal string (a number would silently round). */
export function int64Value(v: Int64): number | string {
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** Nanoseconds since the epoch → ms; undefined for 0 / absent ("unknown" in OTLP). */
export function nanosToMs(v: Int64 | null | undefined): number | undefined {
  if (v === null || v === undefined) return undefined;
  const ms = typeof v === 'number' ? Math.floor(v / 1e6) : longNanosToMs(v.high, v.low, v.unsigned);
  return ms > 0 ? ms : undefined;
}

/**
 * floor((high·2³² + low) / 10⁶), exactly, in doubles: a timestamp in ns is past 2⁵³, and going
 * through Long's toString and a BigInt cost more than the rest of a record's conversion. With
 * 2³² = 4294·10⁶ + 967296, the quotient is high·4294 + floor((high·967296 + low) / 10⁶), and every
 * term stays below 2⁵³ (|high| < 2³², low < 2³²). A negative signed value (before 1970) takes the
 * exact slow path; it is refused as "unknown" anyway.
 */
function longNanosToMs(high: number, low: number, unsigned: boolean): number {
  const hi = unsigned ? high >>> 0 : high;
  if (hi < 0) return -1;
  const rest = hi * 967296 + (low >>> 0);
  let q = Math.floor(rest / 1e6);
  // The division is rounded: step back if it rounded up across an integer.
  if (q * 1e6 > rest) q--;
  return hi * 4294 + q;
}

export function anyValue(v: PbAnyValue | null | undefined, depth = 0): OtlpValue {
  if (!v) return null;
  // A hostile sender can nest kvlists arbitrarily: below this depth the rest is kept as a marker.
  if (depth > 16) return '[nested too deep]';
  if (v.stringValue !== null && v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== null && v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== null && v.intValue !== undefined) return int64Value(v.intValue);
  if (v.doubleValue !== null && v.doubleValue !== undefined) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if (v.arrayValue) return (v.arrayValue.values ?? []).map((x) => anyValue(x, depth + 1));
  if (v.kvlistValue) return keyValues(v.kvlistValue.values, depth + 1);
  if (v.bytesValue) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

/** Repeated keys: the last wins, as OTLP leaves it to the receiver. */
export function keyValues(list: PbKeyValue[] | null | undefined, depth = 0): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const kv of list ?? []) {
    if (typeof kv.key !== 'string' || kv.key === '') continue;
    out[kv.key] = anyValue(kv.value, depth);
  }
  return out;
}

export function hex(bytes: Uint8Array | null | undefined, len: number): string | undefined {
  if (!bytes || bytes.length !== len) return undefined;
  const s = Buffer.from(bytes).toString('hex');
  return /^0+$/.test(s) ? undefined : s;
}
