import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeRecord, markOf } from '@sluice/testkit/unit';
import { Batcher, type Batch } from './batcher.ts';

function setup(maxRecords: number, maxDelayMs = 50) {
  let next = 500;
  const batches: Batch[] = [];
  const b = new Batcher(
    { maxRecords, maxDelayMs },
    { take: (n) => ((next += n), next - n) },
    () => -7n,
    (x) => batches.push(x),
  );
  return { b, batches };
}

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('cuts at the size bound and numbers records consecutively', () => {
    const { b, batches } = setup(3);
    for (let i = 0; i < 7; i++) b.add(encodeRecord({ mark: i }), 0);
    expect(batches.map((x) => [x.firstSeq, x.count])).toEqual([[500, 3], [503, 3]]);
    expect(b.pending).toBe(1);
    const body = batches[1]!.body;
    expect([0, 1, 2].map((i) => markOf(body, i * 256))).toEqual([3, 4, 5]);
    expect(batches[0]!.wallOffsetNs).toBe(-7n);
  });

  it('cuts at the time bound counted from the first record', () => {
    const { b, batches } = setup(100, 50);
    b.add(encodeRecord({ mark: 1 }), 0);
    vi.advanceTimersByTime(30);
    b.add(encodeRecord({ mark: 2 }), 0);
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(20);
    expect(batches.map((x) => x.count)).toEqual([2]);
    vi.advanceTimersByTime(1000);
    expect(batches).toHaveLength(1); // nothing pending: no empty batch
  });

  it('copies records: later changes to the source do not leak in', () => {
    const { b, batches } = setup(1);
    const rec = encodeRecord({ mark: 9 });
    b.add(rec, 0);
    rec.fill(0);
    expect(markOf(batches[0]!.body)).toBe(9);
  });

  it('lets the reader write its own records in place', () => {
    const { b, batches } = setup(2);
    b.addWith((out, off) => encodeRecord({ mark: 77 }).copy(out, off));
    b.cut();
    expect(markOf(batches[0]!.body)).toBe(77);
    expect(batches[0]!.body.length).toBe(256);
  });

  it('takes a run of adjacent records in one go, cutting inside it at the size bound', () => {
    const { b, batches } = setup(3);
    b.add(encodeRecord({ mark: 0 }), 0, 100);
    b.addRun(Buffer.concat([1, 2, 3, 4, 5].map((mark) => encodeRecord({ mark }))), 0, 5, 101);
    b.cut();
    expect(batches.map((x) => [x.count, x.mark])).toEqual([[3, 100], [3, 103]]);
    const body = Buffer.concat(batches.map((x) => x.body));
    expect([0, 1, 2, 3, 4, 5].map((i) => markOf(body, i * 256))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
