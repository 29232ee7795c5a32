import { describe, expect, it } from 'vitest';
import { encodeRecord } from '@sluice/testkit/unit';
import { RedeliveryFilter } from './redelivery.ts';

const rec = (i: number) => encodeRecord({ tsNs: BigInt(1000 + i), mark: i });

describe('RedeliveryFilter', () => {
  it('skips records of a restarted stream already delivered, then passes everything', () => {
    let lost = 0;
    const f = new RedeliveryFilter(8, () => lost++);
    for (let i = 0; i < 20; i++) expect(f.repeated(rec(i), 0)).toBe(false);
    f.streamEnded(undefined);
    // The new helper re-sends 17..19, then new records 20.. (and 19 once more is new data by then).
    expect([17, 18, 19, 20, 21, 19].map((i) => f.repeated(rec(i), 0))).toEqual([true, true, true, false, false, false]);
    expect(f.redelivered).toBe(3);
    expect(lost).toBe(0);
  });

  it('finds re-deliveries in any order within the window, none past it', () => {
    const f = new RedeliveryFilter(4, () => {});
    for (let i = 0; i < 4; i++) f.repeated(rec(i), 0);
    f.streamEnded(undefined);
    expect([2, 9, 3, 1].map((i) => f.repeated(rec(i), 0))).toEqual([true, false, true, true]);
    f.streamEnded(undefined);
    // 9 and 0 are remembered (0 was expected and never came); four other records end the window.
    expect([10, 11, 12, 13, 0].map((i) => f.repeated(rec(i), 0))).toEqual([false, false, false, false, false]);
  });

  it('a reader seeded with what JetStream holds skips those, passes the rest', () => {
    const f = new RedeliveryFilter(8, () => {});
    f.seed([rec(1), rec(2)]);
    expect([2, 3, 1, 1].map((i) => f.repeated(rec(i), 0))).toEqual([true, false, true, false]);
    expect(f.recovering).toBe(0);
  });

  it('keeps expecting through a second restart during recovery', () => {
    const f = new RedeliveryFilter(8, () => {});
    for (let i = 0; i < 5; i++) f.repeated(rec(i), 0);
    f.streamEnded(undefined);
    expect(f.repeated(rec(3), 0)).toBe(true);
    f.streamEnded(undefined); // died again before re-sending 4
    expect([3, 4, 5].map((i) => f.repeated(rec(i), 0))).toEqual([false, true, false]);
  });

  it('delivers a torn record that comes again; counts it lost if it does not', () => {
    let lost = 0;
    const f = new RedeliveryFilter(8, () => lost++);
    for (let i = 0; i < 5; i++) f.repeated(rec(i), 0);
    expect(f.streamEnded(rec(5).subarray(0, 100))).toBe(true);
    expect([4, 5, 6].map((i) => f.repeated(rec(i), 0))).toEqual([true, false, false]);
    expect(lost).toBe(0);
    f.streamEnded(rec(7).subarray(0, 100));
    for (let i = 8; i < 16; i++) expect(f.repeated(rec(i), 0)).toBe(false);
    expect(lost).toBe(1);
  });

  it('hands a tail too short to identify back to the caller', () => {
    const f = new RedeliveryFilter(8, () => {});
    expect(f.streamEnded(rec(1).subarray(0, 20))).toBe(false);
  });

  it('remembers runs of records like single ones, across runs and past the window', () => {
    const f = new RedeliveryFilter(4, () => {});
    const run = (from: number, n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => rec(from + i)));
    expect(f.checking).toBe(false);
    f.remember(run(0, 3), 0, 3, false);
    f.remember(run(3, 2), 0, 2, false); // the oldest run no longer needed whole
    f.streamEnded(undefined);
    expect(f.checking).toBe(true);
    expect([4, 1, 2, 3, 0].map((i) => f.repeated(rec(i), 0))).toEqual([true, true, true, true, false]);
    f.remember(run(10, 9), 256, 8, false); // longer than the window: its last four count
    f.streamEnded(undefined);
    expect([18, 15, 16, 17, 14].map((i) => f.repeated(rec(i), 0))).toEqual([true, true, true, true, false]);
  });
});
