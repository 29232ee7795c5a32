import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { unpackBody } from '@sluice/contracts';
import { encodeRecord, markOf, packedStreamEntry } from '@sluice/testkit/unit';
import { Batcher, type Batch } from './batcher.ts';

/** A batch's records at the fixed stride (its body is packed). */
const records = (x: Batch) => Buffer.from(unpackBody(x.body, x.count, 256));

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
    const body = records(batches[1]!);
    expect([0, 1, 2].map((i) => markOf(body, i * 256))).toEqual([3, 4, 5]);
    expect(batches[0]!.wallOffsetNs).toBe(-7n);
  });

  it('fills a recycled body again, and only a body of its own size', () => {
    const { b, batches } = setup(2);
    for (let i = 0; i < 2; i++) b.add(encodeRecord({ mark: i }), 0);
    const first = batches[0]!;
    const firstRecords = records(first);
    b.recycle(Buffer.alloc(16)); // not one of its bodies: ignored
    b.recycle(first.body);
    for (let i = 2; i < 6; i++) b.add(encodeRecord({ mark: i }), 0);
    // The next batch is written over the acknowledged one's memory; the one after gets new memory.
    expect(batches[1]!.body.buffer).toBe(first.body.buffer);
    expect(batches[2]!.body.buffer).not.toBe(first.body.buffer);
    expect([0, 1].map((i) => markOf(records(batches[1]!), i * 256))).toEqual([2, 3]);
    expect([0, 1].map((i) => markOf(records(batches[2]!), i * 256))).toEqual([4, 5]);
    expect([0, 1].map((i) => markOf(firstRecords, i * 256))).toEqual([0, 1]);
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
    expect(markOf(records(batches[0]!))).toBe(9);
  });

  it('lets the reader write its own records in place', () => {
    const { b, batches } = setup(2);
    b.addWith((out, off) => encodeRecord({ mark: 77 }).copy(out, off));
    b.cut();
    expect(markOf(records(batches[0]!))).toBe(77);
    expect(records(batches[0]!).length).toBe(256);
  });

  it('takes a run of adjacent records in one go, cutting inside it at the size bound', () => {
    const { b, batches } = setup(3);
    b.add(encodeRecord({ mark: 0 }), 0, 100);
    b.addRun(Buffer.concat([1, 2, 3, 4, 5].map((mark) => encodeRecord({ mark }))), 0, 5, 101);
    b.cut();
    expect(batches.map((x) => [x.count, x.mark])).toEqual([[3, 100], [3, 103]]);
    const body = Buffer.concat(batches.map(records));
    expect([0, 1, 2, 3, 4, 5].map((i) => markOf(body, i * 256))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('Batcher packing', () => {
  it('drops trailing zeros, gives every record back byte for byte, from aligned and unaligned sources', () => {
    const { b, batches } = setup(100);
    const recs = [
      encodeRecord({ kind: 'sendmsg', comm: 'curl', tsNs: 5n }), // body union zero: ~half kept
      encodeRecord({ mark: 3 }), // noise to the last byte: all 256 kept
      encodeRecord({ kind: 'dns', qname: 'api.example.test' }),
    ];
    b.addRun(Buffer.concat(recs), 0, 3, 0);
    const odd = Buffer.alloc(1 + 256);
    recs[0]!.copy(odd, 1);
    b.add(odd, 1, 3); // a record the splitter resynchronised onto lies at any offset
    b.cut();
    const x = batches[0]!;
    expect(records(x)).toEqual(Buffer.concat([...recs, recs[0]!]));
    expect(x.body.length).toBeLessThan(4 * 256);
    expect(x.body.readUInt32LE(0)).toBeLessThanOrEqual(120); // the sendto record ends with its comm
  });
});

describe('Batcher, fixed format (READER_RAW_FORMAT=fixed)', () => {
  it('writes the records verbatim at the 256-byte stride', () => {
    const batches: Batch[] = [];
    const b = new Batcher({ maxRecords: 3, maxDelayMs: 50, encoding: 'fixed' }, { take: () => 1 }, () => 0n, (x) => batches.push(x));
    const recs = [encodeRecord({ kind: 'sendmsg' }), encodeRecord({ mark: 1 })];
    b.addRun(Buffer.concat(recs), 0, 2, 0);
    b.addWith((out, off) => encodeRecord({ mark: 2 }).copy(out, off));
    expect(batches[0]!.encoding).toBe('fixed');
    expect(batches[0]!.body).toEqual(Buffer.concat([...recs, encodeRecord({ mark: 2 })]));
  });
});

describe('Batcher, entries of the packed stream (stream --packed)', () => {
  const recs = [1, 2, 3, 4, 5].map((mark) => encodeRecord({ mark }).fill(0, 124 + 20 * mark));
  const entries = Buffer.concat(recs.map((r) => packedStreamEntry(r)));

  it('copies a run into a packed body as it is, cutting inside it at the size bound', () => {
    const { b, batches } = setup(3);
    b.add(encodeRecord({ mark: 0 }), 0, 100);
    b.addPacked(entries, 0, entries.length, 5, 101);
    b.cut();
    expect(batches.map((x) => [x.count, x.mark, x.encoding])).toEqual([[3, 100, 'packed'], [3, 103, 'packed']]);
    expect(Buffer.concat(batches.map(records))).toEqual(Buffer.concat([encodeRecord({ mark: 0 }), ...recs]));
    // The second body is the stream's own bytes from its third entry on.
    const third = recs.slice(0, 2).reduce((n, r) => n + packedStreamEntry(r).length, 0);
    expect(batches[1]!.body).toEqual(entries.subarray(third));
  });

  it('writes them zero-extended into a fixed body', () => {
    const batches: Batch[] = [];
    const b = new Batcher({ maxRecords: 4, maxDelayMs: 50, encoding: 'fixed' }, { take: () => 1 }, () => 0n, (x) => batches.push(x));
    // A recycled body full of non-zero bytes: the zeros after each entry's kept bytes are written.
    for (let i = 0; i < 4; i++) b.addWith((out, off) => out.fill(0xff, off, off + 200));
    b.recycle(batches[0]!.body);
    batches[0]!.body.fill(0xee);
    b.addPacked(entries, 0, entries.length, 5, 0);
    b.cut();
    expect(batches.map((x) => x.count)).toEqual([4, 4, 1]);
    expect(Buffer.concat(batches.slice(1).map((x) => x.body))).toEqual(Buffer.concat(recs));
  });
});
