import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { packBody, packedCapacity, packRecords, unpackBody } from './raw-batch-packed.ts';
import { parseRawBatch, RAW_BATCH_CONTENT_TYPE, RAW_BATCH_PACKED_CONTENT_TYPE, rawBatchHeaders, RawBatchError, type RawBatchMeta } from './raw-batch.ts';
import { HEADERS } from './streams.ts';

const SIZE = 256;
const BOOT = '03502c00-de63-4675-bd95-7f98dd8847d8';

function getter(pairs: Array<[string, string]>): (name: string) => string | undefined {
  const m = new Map(pairs);
  return (name) => m.get(name);
}

/** A record of `kept` meaningful bytes (the last one non-zero, zeros inside allowed) and a zero tail. */
const record = fc.integer({ min: 0, max: SIZE }).chain((kept) =>
  fc.uint8Array({ minLength: kept, maxLength: kept }).map((head) => {
    const r = new Uint8Array(SIZE);
    r.set(head);
    if (kept > 0) r[kept - 1] = head[kept - 1]! || 1;
    return r;
  }),
);

function concat(rs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(rs.length * SIZE);
  rs.forEach((r, i) => out.set(r, i * SIZE));
  return out;
}

/** Hand-built packed entries: [length word, bytes]. */
function entries(...es: Array<[number, number]>): Uint8Array {
  const parts = es.map(([len, bytes]) => {
    const e = new Uint8Array(4 + bytes).fill(7);
    new DataView(e.buffer).setUint32(0, len, true);
    return e;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('packed raw batch body', () => {
  it('round-trips any records: pack → unpack gives the original 256 bytes each', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), (rs) => {
        const fixed = concat(rs);
        const packed = packBody(fixed, SIZE);
        expect(unpackBody(packed, rs.length, SIZE)).toEqual(fixed);
        expect(packed.byteLength).toBeLessThanOrEqual(packedCapacity(rs.length, SIZE));
      }),
    );
  });

  it('unpacks the same into a dirty pooled buffer, bigger than asked, from a body off a word boundary, as into a new one', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 24 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9 }), (rs, shift, extra) => {
        const fixed = concat(rs);
        const packed = packBody(fixed, SIZE);
        const odd = new Uint8Array(packed.length + shift);
        odd.set(packed, shift);
        const body = odd.subarray(shift);
        // Old bytes everywhere and more room than asked, as a pool hands them out.
        let pooled: Uint8Array | undefined;
        const out = unpackBody(body, rs.length, SIZE, (n) => (pooled = new Uint8Array(n + extra).fill(0xa5)));
        expect(out).toEqual(fixed);
        expect(out.buffer).toBe(pooled!.buffer);
        expect(unpackBody(body, rs.length, SIZE)).toEqual(fixed);
      }),
    );
  });

  it('keeps a record with no trailing zero whole and an all-zero record as a bare length', () => {
    const full = new Uint8Array(SIZE).fill(0xff);
    const zero = new Uint8Array(SIZE);
    const packed = packBody(concat([full, zero, full]), SIZE);
    expect(packed.byteLength).toBe(3 * 4 + 2 * SIZE);
    expect(new DataView(packed.buffer).getUint32(4 + SIZE, true)).toBe(0);
    expect(unpackBody(packed, 3, SIZE)).toEqual(concat([full, zero, full]));
  });

  it('keeps lengths a multiple of 4, so entries stay word aligned', () => {
    const r = new Uint8Array(SIZE);
    r[0] = 1;
    r[120] = 9; // last meaningful byte at 120: 121 bytes, kept 124
    const packed = packBody(concat([r, r]), SIZE);
    expect(new DataView(packed.buffer).getUint32(0, true)).toBe(124);
    expect(packed.byteLength).toBe(2 * (4 + 124));
  });

  it('packs the same from an unaligned source as from an aligned one', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (rs, shift) => {
        const fixed = concat(rs);
        const odd = new Uint8Array(fixed.length + shift);
        odd.set(fixed, shift);
        const out = new Uint8Array(packedCapacity(rs.length, SIZE));
        const end = packRecords(odd, shift, rs.length, SIZE, out, 0);
        expect(out.subarray(0, end)).toEqual(packBody(fixed, SIZE));
      }),
    );
  });

  it('refuses to write past its output or from past its source', () => {
    const fixed = new Uint8Array(2 * SIZE);
    expect(() => packRecords(fixed, 0, 2, SIZE, new Uint8Array(packedCapacity(2, SIZE) - 1), 0)).toThrow(/no room/);
    expect(() => packRecords(fixed, SIZE, 2, SIZE, new Uint8Array(packedCapacity(2, SIZE)), 0)).toThrow(/overrun a source/);
    expect(() => packRecords(fixed, 0, 1, SIZE, new Uint8Array(packedCapacity(2, SIZE)), 2)).toThrow(/not 4-byte aligned/);
  });

  it('rejects malformed bodies, naming the record', () => {
    const bad = (body: Uint8Array, count: number) => () => {
      // The same refusal from every path: a new output, a dirty pooled one, a body off a word boundary.
      const odd = new Uint8Array(body.length + 1);
      odd.set(body, 1);
      let err: unknown;
      try {
        unpackBody(odd.subarray(1), count, SIZE, (n) => new Uint8Array(n).fill(1));
      } catch (e) {
        err = e;
      }
      try {
        unpackBody(body, count, SIZE);
      } catch (e) {
        expect(e).toEqual(err);
        throw e;
      }
    };
    expect(bad(entries([260, 260]), 1)).toThrow(RawBatchError);
    expect(bad(entries([8, 8], [260, 260]), 2)).toThrow(/packed record 1: length 260 at byte 12 exceeds the 256-byte record/);
    expect(bad(entries([8, 8], [2 ** 31 + 8, 8]), 2)).toThrow(/packed record 1: length 2147483656/);
    expect(bad(entries([8, 8], [6, 6]), 2)).toThrow(/packed record 1: length 6 .* not a multiple of 4/);
    expect(bad(entries([8, 8], [120, 100]), 2)).toThrow(/packed record 1: needs 120 bytes at byte 16, the body has 100 left \(truncated\)/);
    // count mismatch: the header promises more records than the body holds …
    expect(bad(entries([8, 8], [8, 8]), 3)).toThrow(/ends at record 2 of 3: no length at byte 24/);
    expect(bad(entries([8, 8], [8, 8]).subarray(0, 18), 2)).toThrow(/packed record 1: needs 8 bytes at byte 16, the body has 2 left/);
    // … or fewer
    expect(bad(entries([8, 8], [8, 8]), 1)).toThrow(/12 bytes after its last record \(record 0 ends at byte 12\): more records than the count of 1/);
  });
});

describe('raw batch formats', () => {
  const meta: RawBatchMeta = { node: 'n1', bootId: BOOT, firstSeq: 7, count: 2, wallOffsetNs: 5n };
  const fixed = new Uint8Array(2 * SIZE);
  fixed.set([1, 2, 3], 0);
  fixed.set([4, 5, 6], SIZE + 200);

  it('names the format in Content-Type and decodes both to the fixed stride', () => {
    const packed = packBody(fixed, SIZE);
    const hp = rawBatchHeaders(meta, 'packed');
    expect(new Map(hp).get(HEADERS.contentType)).toBe(RAW_BATCH_PACKED_CONTENT_TYPE);
    expect(parseRawBatch(getter(hp), packed, SIZE)).toEqual({ meta, encoding: 'packed', records: fixed });
    const hf = rawBatchHeaders(meta);
    expect(new Map(hf).get(HEADERS.contentType)).toBe(RAW_BATCH_CONTENT_TYPE);
    expect(parseRawBatch(getter(hf), fixed, SIZE)).toEqual({ meta, encoding: 'fixed', records: fixed });
    // A batch without Content-Type is the fixed format.
    expect(parseRawBatch(getter(hf.filter(([k]) => k !== HEADERS.contentType)), fixed, SIZE).encoding).toBe('fixed');
  });

  it('refuses a body in the other format and an unknown Content-Type', () => {
    const packed = packBody(fixed, SIZE);
    expect(() => parseRawBatch(getter(rawBatchHeaders(meta)), packed, SIZE)).toThrow(/body is \d+ bytes, expected 2 records × 256/);
    expect(() => parseRawBatch(getter(rawBatchHeaders(meta, 'packed')), fixed, SIZE)).toThrow(/packed record 0: length 197121/);
    const other = rawBatchHeaders(meta).map(([k, v]): [string, string] => [k, k === HEADERS.contentType ? 'application/json' : v]);
    expect(() => parseRawBatch(getter(other), fixed, SIZE)).toThrow(/Content-Type "application\/json" names no raw batch format/);
  });
});
