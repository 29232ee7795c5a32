import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeSuppressed, KIND_SUPPRESSED } from '@sluice/contracts';
import { encodeRecord } from '@sluice/testkit/unit';
import { Batcher, type Batch } from './batcher.ts';
import { DropLedger } from './drops.ts';
import { KIND_COUNTERS, OFF } from './layout.ts';
import { CgroupRateLimiter } from './rate-limit.ts';
import { ReaderCore } from './reader.ts';

function counters(generated: number, ringbufFull: number): Buffer {
  const r = encodeRecord({ kind: KIND_COUNTERS, verdict: 0 });
  r.fill(0, OFF.body);
  r.writeBigUInt64LE(BigInt(generated), OFF.body);
  r.writeBigUInt64LE(BigInt(ringbufFull), OFF.body + 8);
  return r;
}

function setup(ratePerS = 0) {
  const batches: Batch[] = [];
  let seq = 0;
  const ledger = new DropLedger();
  const hooks = { handled: 0, generated: 0 };
  const core = new ReaderCore(
    new CgroupRateLimiter({ ratePerS, burst: 2, maxCgroups: 100 }),
    new Batcher({ maxRecords: 4, maxDelayMs: 1000 }, { take: (n) => ((seq += n), seq - n) }, () => 0n, (b) => batches.push(b)),
    ledger,
    { handled: (n) => (hooks.handled += n), kernelGenerated: (n) => (hooks.generated += n) },
  );
  return { core, batches, ledger, hooks };
}

describe('ReaderCore', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('batches kernel records, keeps COUNTERS out of batches and turns them into kernel metrics', () => {
    const { core, batches, ledger, hooks } = setup();
    core.push(Buffer.concat([counters(100, 5), encodeRecord(), encodeRecord(), counters(130, 9), encodeRecord()]));
    vi.advanceTimersByTime(1000);
    expect(batches.map((b) => b.count)).toEqual([3]);
    expect(hooks).toEqual({ handled: 3, generated: 30 });
    expect(ledger.total('kernel', 'ringbuf_full')).toBe(4);
  });

  it('summarises what the rate limit held back as SUPPRESSED records', () => {
    const { core, batches, ledger } = setup(1);
    core.push(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeRecord({ cgroupId: 5n, tsNs: BigInt(i) }))));
    expect(core.summarise()).toBe(1);
    core.end();
    vi.advanceTimersByTime(1000);
    const bodies = Buffer.concat(batches.map((b) => b.body));
    expect(bodies.length / 256).toBe(3); // 2 (burst) + 1 summary
    const summary = bodies.subarray(512, 768);
    expect(summary[OFF.kind]).toBe(KIND_SUPPRESSED);
    expect(decodeSuppressed(summary)).toMatchObject({ count: 8, firstTsNs: 2n, lastTsNs: 9n });
    expect(ledger.total('reader', 'rate_limit')).toBe(8);
  });

  it('counts garbage and a torn tail as decode drops and carries on', () => {
    const { core, batches, ledger } = setup();
    const r = (i: number) => encodeRecord({ tsNs: BigInt(i), mark: i });
    core.push(Buffer.concat([r(1), Buffer.from('not a record at all'), r(2), r(3)]));
    core.push(r(4).subarray(0, 17));
    core.end();
    core.push(r(5)); // the next helper's stream starts clean
    vi.advanceTimersByTime(1000);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(ledger.total('reader', 'decode')).toBe(2);
    expect(core.stats.skippedBytes).toBe(19 + 17);
  });
});
