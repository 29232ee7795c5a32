import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeSuppressed, KIND_SUPPRESSED, unpackBody } from '@sluice/contracts';
import { encodeRecord, markOf, packedStreamEntry } from '@sluice/testkit/unit';
import { Batcher, type Batch } from './batcher.ts';
import { DropLedger } from './drops.ts';
import { KIND_COUNTERS, OFF } from './layout.ts';
import { CgroupRateLimiter } from './rate-limit.ts';
import { ReaderCore, type StreamFormat } from './reader.ts';

function counters(generated: number, ringbufFull: number): Buffer {
  const r = encodeRecord({ kind: KIND_COUNTERS, verdict: 0 });
  r.fill(0, OFF.body);
  r.writeBigUInt64LE(BigInt(generated), OFF.body);
  r.writeBigUInt64LE(BigInt(ringbufFull), OFF.body + 8);
  return r;
}

/** A batch's records at the fixed stride (its body is packed). */
const records = (b: Batch) => Buffer.from(unpackBody(b.body, b.count, 256));

function setup(format: StreamFormat, ratePerS = 0) {
  const batches: Batch[] = [];
  let seq = 0;
  const ledger = new DropLedger();
  const hooks = { handled: 0, generated: 0 };
  const core = new ReaderCore(
    new CgroupRateLimiter({ ratePerS, burst: 2, maxCgroups: 100 }),
    new Batcher({ maxRecords: 4, maxDelayMs: 1000 }, { take: (n) => ((seq += n), seq - n) }, () => 0n, (b) => batches.push(b)),
    ledger,
    { handled: (n) => (hooks.handled += n), kernelGenerated: (n) => (hooks.generated += n) },
    16_384,
    format,
  );
  return { core, batches, ledger, hooks };
}

// The same behaviour whether the helper writes 256-byte records or packed entries (`stream --packed`).
describe.each<StreamFormat>(['fixed', 'packed'])('ReaderCore, %s stream', (format) => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  /** Records as the helper writes them in this format. */
  const stream = (...recs: Buffer[]) => Buffer.concat(recs.map((r) => (format === 'packed' ? packedStreamEntry(r) : r)));

  it('batches kernel records, keeps COUNTERS out of batches and turns them into kernel metrics', () => {
    const { core, batches, ledger, hooks } = setup(format);
    core.push(stream(counters(100, 5), encodeRecord(), encodeRecord(), counters(130, 9), encodeRecord()));
    vi.advanceTimersByTime(1000);
    expect(batches.map((b) => b.count)).toEqual([3]);
    expect(hooks).toEqual({ handled: 3, generated: 30 });
    expect(ledger.total('kernel', 'ringbuf_full')).toBe(4);
  });

  it('summarises what the rate limit held back as SUPPRESSED records', () => {
    const { core, batches, ledger } = setup(format, 1);
    // A short comm: a packed entry stops inside it, and the summary's copy must not run past it.
    const recs = Array.from({ length: 10 }, (_, i) => encodeRecord({ cgroupId: 5n, tsNs: BigInt(i), comm: 'sh' }));
    core.push(stream(...recs));
    expect(core.summarise()).toBe(1);
    core.end();
    vi.advanceTimersByTime(1000);
    const bodies = Buffer.concat(batches.map(records));
    expect(bodies.length / 256).toBe(3); // 2 (burst) + 1 summary
    const summary = bodies.subarray(512, 768);
    expect(summary[OFF.kind]).toBe(KIND_SUPPRESSED);
    expect(decodeSuppressed(summary)).toMatchObject({ count: 8, firstTsNs: 2n, lastTsNs: 9n });
    expect(summary.subarray(OFF.cgroupId, OFF.body)).toEqual(recs[9]!.subarray(OFF.cgroupId, OFF.body));
    expect(ledger.total('reader', 'rate_limit')).toBe(8);
  });

  it('counts garbage and a torn tail as decode drops and carries on', () => {
    const { core, batches, ledger } = setup(format);
    const r = (i: number) => stream(encodeRecord({ tsNs: BigInt(i), mark: i }));
    core.push(Buffer.concat([r(1), Buffer.from('not a record at all'), r(2), r(3)]));
    core.push(r(4).subarray(0, 17));
    core.end();
    core.push(r(5)); // the next helper's stream starts clean
    vi.advanceTimersByTime(1000);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(ledger.total('reader', 'decode')).toBe(2);
    expect(core.stats.skippedBytes).toBe(19 + 17);
  });

  it('copies runs of records into batches and the re-delivery memory as if one by one', () => {
    const { core, batches, ledger } = setup(format, 1); // burst 2 per cgroup: the third of a cgroup is held back
    const r = (i: number, cg: bigint) => encodeRecord({ tsNs: BigInt(i), cgroupId: cg, mark: i });
    // Runs broken by a COUNTERS record, by suppressed records, and by a chunk boundary mid-record.
    const head = stream(r(1, 1n), r(2, 2n), counters(10, 0));
    const a = Buffer.concat([head, stream(r(3, 1n), r(4, 1n), r(5, 3n), r(6, 3n), r(7, 4n))]);
    core.push(a.subarray(0, head.length + 100));
    core.push(a.subarray(head.length + 100));
    core.push(stream(r(8, 5n), r(9, 5n)));
    vi.advanceTimersByTime(1000);
    const body = Buffer.concat(batches.map(records));
    expect(Array.from({ length: body.length / 256 }, (_, i) => markOf(body, i * 256))).toEqual([1, 2, 3, 5, 6, 7, 8, 9]);
    // Each batch's mark is its first record's place in the stream (the COUNTERS record has one).
    expect(batches.map((b) => [b.mark, b.count])).toEqual([[0, 4], [6, 4]]);
    expect(ledger.total('reader', 'rate_limit')).toBe(1);
    // A new helper re-sends the last three: all three are known, the suppressed one included.
    core.end();
    core.push(stream(r(4, 1n), r(8, 5n), r(9, 5n), r(10, 6n)));
    vi.advanceTimersByTime(1000);
    expect(core.redelivery.redelivered).toBe(3);
    expect(markOf(records(batches.at(-1)!))).toBe(10);
  });
});

describe('ReaderCore, packed stream', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("puts the helper's entries into the batch body as they came: one copy, no repacking", () => {
    const { core, batches } = setup('packed');
    const recs = [1, 2, 3].map((i) => encodeRecord({ tsNs: BigInt(i), mark: i }).fill(0, 124 + 40 * i));
    const bytes = Buffer.concat(recs.map((r) => packedStreamEntry(r)));
    core.push(bytes);
    vi.advanceTimersByTime(1000);
    expect(batches.map((b) => [b.count, b.encoding])).toEqual([[3, 'packed']]);
    expect(batches[0]!.body).toEqual(bytes);
    expect(records(batches[0]!)).toEqual(Buffer.concat(recs));
  });

  it("knows a restarted packed stream's records by their whole bytes, a torn one included", () => {
    const { core, batches, ledger } = setup('packed');
    const r = (i: number) => packedStreamEntry(encodeRecord({ tsNs: BigInt(i), mark: i }).fill(0, 130 + i));
    core.push(Buffer.concat([r(1), r(2), r(3).subarray(0, 120)]));
    core.end(); // 3 was torn: it may come again
    core.push(Buffer.concat([r(2), r(3), r(4)]));
    vi.advanceTimersByTime(1000);
    expect(core.redelivery.redelivered).toBe(1);
    const body = Buffer.concat(batches.map(records));
    expect(Array.from({ length: body.length / 256 }, (_, i) => markOf(body, i * 256))).toEqual([1, 2, 3, 4]);
    expect(ledger.total('reader', 'decode')).toBe(0);
  });

  // A chunk the reader fails on is lost whole and counted (run.ts, reason=internal). Packed entries
  // of short records are ~110 bytes: counting them as 256-byte records would hide more than half.
  it('estimates how many records a lost chunk held from the entry size this stream carried', () => {
    const { core } = setup('packed');
    const small = (i: number) => packedStreamEntry(encodeRecord({ tsNs: BigInt(i), mark: i }).fill(0, 104));
    expect(core.estimateRecords(1080)).toBe(10); // nothing seen yet: the smallest entry (108 bytes)
    core.push(Buffer.concat(Array.from({ length: 20 }, (_, i) => small(i + 1))));
    const entry = small(1).length;
    expect(core.estimateRecords(entry * 30)).toBe(30);
    expect(core.estimateRecords(1)).toBe(1);
    expect(setup('fixed').core.estimateRecords(256 * 7 + 10)).toBe(7);
  });
});
