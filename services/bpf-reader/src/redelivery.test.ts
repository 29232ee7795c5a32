import { describe, expect, it } from 'vitest';
import { encodeRecord } from '@sluice/testkit/unit';
import { RedeliveryFilter } from './redelivery.ts';

const rec = (i: number) => encodeRecord({ tsNs: BigInt(1000 + i), mark: i });

describe('RedeliveryFilter', () => {
  it('skips the repeated prefix of a restarted stream, then passes everything', () => {
    let lost = 0;
    const f = new RedeliveryFilter(8, () => lost++);
    for (let i = 0; i < 20; i++) expect(f.repeated(rec(i), 0)).toBe(false);
    f.streamEnded(undefined);
    // The new helper re-sends 17..19, then new records 20.. (and 5 again later is new data by then).
    expect([17, 18, 19, 20, 21, 19].map((i) => f.repeated(rec(i), 0))).toEqual([true, true, true, false, false, false]);
    expect(f.redelivered).toBe(3);
    expect(lost).toBe(0);
  });

  it('delivers a torn record that comes again; counts it lost if it does not', () => {
    let lost = 0;
    const f = new RedeliveryFilter(8, () => lost++);
    for (let i = 0; i < 5; i++) f.repeated(rec(i), 0);
    expect(f.streamEnded(rec(5).subarray(0, 100))).toBe(true);
    expect([4, 5, 6].map((i) => f.repeated(rec(i), 0))).toEqual([true, false, false]);
    expect(lost).toBe(0);
    f.streamEnded(rec(7).subarray(0, 100));
    expect(f.repeated(rec(8), 0)).toBe(false);
    expect(lost).toBe(1);
  });

  it('hands a tail too short to identify back to the caller', () => {
    const f = new RedeliveryFilter(8, () => {});
    expect(f.streamEnded(rec(1).subarray(0, 20))).toBe(false);
  });
});
