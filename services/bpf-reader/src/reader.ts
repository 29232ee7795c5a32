// The reader's hot path, free of I/O: helper bytes → frames → kernel counters or records →
// per-cgroup rate limit → batches. Everything that does not become part of a batch is counted
// on the ledger with its reason, so per stream:
//   records received == records batched + rate_limit drops (+ those still in the open batch)
// and rate-limited records come back as SUPPRESSED summaries.
import { encodeSuppressed } from '@sluice/contracts';
import { AckWindow } from './ack-window.ts';
import type { Batcher } from './batcher.ts';
import type { DropLedger } from './drops.ts';
import { FrameSplitter } from './frames.ts';
import { COUNTER_SLOT, KernelCounters, readCounters } from './kernel-counters.ts';
import { KIND_COUNTERS, OFF, RECORD_SIZE } from './layout.ts';
import type { CgroupRateLimiter } from './rate-limit.ts';
import { RecordRun } from './record-run.ts';
import { RedeliveryFilter } from './redelivery.ts';

export interface ReaderStats {
  /** Kernel records received (COUNTERS records excluded). */
  received: number;
  suppressed: number;
  summaries: number;
  countersRecords: number;
  malformedRuns: number;
  skippedBytes: number;
}

export interface ReaderHooks {
  /** Kernel records received, per chunk (sluice_events_total{stage="reader"}). */
  handled(n: number): void;
  /** Records the kernel generated, from COUNTERS deltas (sluice_events_total{stage="kernel"}). */
  kernelGenerated(n: number): void;
}

export class ReaderCore {
  readonly stats: ReaderStats = { received: 0, suppressed: 0, summaries: 0, countersRecords: 0, malformedRuns: 0, skippedBytes: 0 };
  readonly kernel = new KernelCounters();
  private readonly splitter: FrameSplitter;
  readonly redelivery: RedeliveryFilter;
  /** What the helper may release from the ring (the caller settles batches and reports acks). */
  readonly acks = new AckWindow();
  private chunkReceived = 0;
  private chunkSuppressed = 0;
  /** Adjacent records in hand, copied in one go when the run breaks or the chunk ends (record-run.ts). */
  private readonly seen = new RecordRun(RECORD_SIZE);
  private readonly batched = new RecordRun(RECORD_SIZE);

  constructor(
    private readonly limiter: CgroupRateLimiter,
    private readonly batcher: Batcher,
    private readonly ledger: DropLedger,
    private readonly hooks: ReaderHooks,
    /** Records remembered for re-delivery detection: the helper's --max-unacked. */
    redeliveryWindow = 16_384,
  ) {
    this.redelivery = new RedeliveryFilter(redeliveryWindow, () => {
      this.stats.malformedRuns++;
      this.ledger.drop('reader', 'decode', 1);
    });
    this.splitter = new FrameSplitter(RECORD_SIZE, {
      records: (buf, off, n) => this.onRecords(buf, off, n),
      malformed: () => {
        this.stats.malformedRuns++;
        this.ledger.drop('reader', 'decode', 1);
      },
      skipped: (n) => (this.stats.skippedBytes += n),
    });
  }

  /** A new helper stream begins (its acks count from its first record). */
  streamStarted(): void {
    this.acks.streamStarted();
  }

  push(chunk: Buffer): void {
    try {
      this.splitter.push(chunk);
    } catch (err) {
      // Nothing of a failed chunk stays in hand to surface in a later one.
      this.seen.reset();
      this.batched.reset();
      throw err;
    }
    this.settle();
  }

  /** The helper's stdout ended: a torn tail is counted, and the next helper starts clean. */
  end(): void {
    const tail = this.splitter.takeTail();
    this.flushRuns(); // the re-delivery memory must hold every record delivered before the end
    if (tail) {
      this.stats.skippedBytes += tail.length;
      if (!this.redelivery.streamEnded(tail)) this.splitter.countLost(0);
    } else {
      this.redelivery.streamEnded(undefined);
    }
    this.settle();
  }

  /** Turn what the rate limiter held back into SUPPRESSED records. */
  summarise(): number {
    const summaries = this.limiter.takeSummaries();
    for (const s of summaries) this.batcher.addWith((out, off) => encodeSuppressed(out, off, s.template, s));
    this.stats.summaries += summaries.length;
    return summaries.length;
  }

  /**
   * A run of records from the splitter. The common case (no re-delivery check under way, no rate
   * limit) takes the run whole: marks, the re-delivery memory and the batch in one step each, split
   * only around COUNTERS records; otherwise record by record.
   */
  private onRecords(buf: Buffer, off: number, n: number): void {
    const end = off + n * RECORD_SIZE;
    if (this.redelivery.checking || this.limiter.enabled) {
      for (let p = off; p < end; p += RECORD_SIZE) this.onRecord(buf, p);
      return;
    }
    let from = off;
    for (let p = off; p < end; p += RECORD_SIZE) {
      if (buf[p + OFF.kind] !== KIND_COUNTERS) continue;
      if (p > from) this.takeRun(buf, from, (p - from) / RECORD_SIZE);
      this.onRecord(buf, p);
      from = p + RECORD_SIZE;
    }
    if (end > from) this.takeRun(buf, from, (end - from) / RECORD_SIZE);
  }

  /** `n` data records, none rate-limited: remembered and batched as one run. */
  private takeRun(buf: Buffer, off: number, n: number): void {
    const mark = this.acks.take(n);
    this.chunkReceived += n;
    this.seen.extend(buf, off, mark, this.flushSeen, n);
    this.batched.extend(buf, off, mark, this.flushBatched, n);
  }

  private onRecord(buf: Buffer, off: number): void {
    const mark = this.acks.take();
    if (buf[off + OFF.kind] === KIND_COUNTERS) {
      this.stats.countersRecords++;
      const d = this.kernel.update(readCounters(buf, off));
      this.hooks.kernelGenerated(d[COUNTER_SLOT.generated]!);
      this.ledger.drop('kernel', 'ringbuf_full', d[COUNTER_SLOT.ringbuf_full]!);
      return;
    }
    if (this.redelivery.checking) {
      // A new stream's first records: one by one, after what is already in hand.
      this.flushRuns();
      if (this.redelivery.repeated(buf, off)) return;
      this.chunkReceived++;
      if (this.limiter.admit(buf, off)) this.batcher.add(buf, off, mark);
      else this.chunkSuppressed++;
      return;
    }
    this.chunkReceived++;
    this.seen.extend(buf, off, mark, this.flushSeen);
    if (this.limiter.admit(buf, off)) this.batched.extend(buf, off, mark, this.flushBatched);
    else this.chunkSuppressed++;
  }

  private readonly flushSeen = (buf: Buffer, off: number, n: number): void => this.redelivery.remember(buf, off, n);
  private readonly flushBatched = (buf: Buffer, off: number, n: number, mark: number): void => this.batcher.addRun(buf, off, n, mark);

  private flushRuns(): void {
    this.seen.flush(this.flushSeen);
    this.batched.flush(this.flushBatched);
  }

  // Metrics are bumped once per chunk, not per record: the OTel counter call costs more than
  // the rest of the per-record work.
  private settle(): void {
    this.flushRuns();
    if (this.chunkReceived > 0) {
      this.stats.received += this.chunkReceived;
      this.hooks.handled(this.chunkReceived);
      this.chunkReceived = 0;
    }
    if (this.chunkSuppressed > 0) {
      this.stats.suppressed += this.chunkSuppressed;
      this.ledger.drop('reader', 'rate_limit', this.chunkSuppressed);
      this.chunkSuppressed = 0;
    }
  }
}
