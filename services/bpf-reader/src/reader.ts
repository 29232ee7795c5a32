// The reader's hot path, free of I/O: helper bytes → frames → kernel counters or records →
// per-cgroup rate limit → batches. Everything that does not become part of a batch is counted
// on the ledger with its reason, so per stream:
//   records received == records batched + rate_limit drops (+ those still in the open batch)
// and rate-limited records come back as SUPPRESSED summaries.
//
// The helper writes fixed 256-byte records, or (`stream --packed`, what the reader asks of a
// helper that can) packed entries: the SLUICE_RAW packed body form, so a run of records is
// copied into a packed batch as it came. A record is addressed by where its frame starts (p) and
// ends (q); its bytes start at p + `rec` (the length word's size for packed entries, else 0).
import { encodeSuppressed } from '@sluice/contracts';
import { AckWindow } from './ack-window.ts';
import type { Batcher } from './batcher.ts';
import type { DropLedger } from './drops.ts';
import { FrameSplitter, type Splitter } from './frames.ts';
import { COUNTER_SLOT, KernelCounters, readCounters } from './kernel-counters.ts';
import { KIND_COUNTERS, OFF, RECORD_SIZE } from './layout.ts';
import { HEAD, keptAt, MIN_KEEP, PackedSplitter } from './packed-frames.ts';
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

/** The smallest packed entry: the length word and a record trimmed to its header. */
const PACKED_MIN_ENTRY = HEAD + MIN_KEEP;

/** The helper's output: 256-byte records (`stream`) or packed entries (`stream --packed`). */
export type StreamFormat = 'fixed' | 'packed';

export interface ReaderHooks {
  /** Kernel records received, per chunk (sluice_events_total{stage="reader"}). */
  handled(n: number): void;
  /** Records the kernel generated, from COUNTERS deltas (sluice_events_total{stage="kernel"}). */
  kernelGenerated(n: number): void;
}

export class ReaderCore {
  readonly stats: ReaderStats = { received: 0, suppressed: 0, summaries: 0, countersRecords: 0, malformedRuns: 0, skippedBytes: 0 };
  readonly kernel = new KernelCounters();
  private readonly splitter: Splitter;
  private readonly packed: boolean;
  /** Where a record's bytes start in its frame. */
  private readonly rec: number;
  /** A packed COUNTERS record, zero-extended for the fixed-offset decoder. */
  private readonly scratch = Buffer.alloc(RECORD_SIZE);
  readonly redelivery: RedeliveryFilter;
  /** What the helper may release from the ring (the caller settles batches and reports acks). */
  readonly acks = new AckWindow();
  private chunkReceived = 0;
  private chunkSuppressed = 0;
  /** Bytes pushed and frames taken from them, for estimateRecords. */
  private bytesPushed = 0;
  private framesTaken = 0;
  /** Adjacent records in hand, copied in one go when the run breaks or the chunk ends (record-run.ts). */
  private readonly seen = new RecordRun();
  private readonly batched = new RecordRun();

  constructor(
    private readonly limiter: CgroupRateLimiter,
    private readonly batcher: Batcher,
    private readonly ledger: DropLedger,
    private readonly hooks: ReaderHooks,
    /** Records remembered for re-delivery detection: the helper's --max-unacked. */
    redeliveryWindow = 16_384,
    readonly streamFormat: StreamFormat = 'fixed',
  ) {
    this.packed = streamFormat === 'packed';
    this.rec = this.packed ? HEAD : 0;
    this.redelivery = new RedeliveryFilter(redeliveryWindow, () => {
      this.stats.malformedRuns++;
      this.ledger.drop('reader', 'decode', 1);
    });
    const events = {
      records: (buf: Buffer, off: number, end: number, n: number) => {
        this.framesTaken += n;
        this.onRecords(buf, off, end, n);
      },
      malformed: () => {
        this.stats.malformedRuns++;
        this.ledger.drop('reader', 'decode', 1);
      },
      skipped: (n: number) => (this.stats.skippedBytes += n),
    };
    this.splitter = this.packed ? new PackedSplitter(events) : new FrameSplitter(RECORD_SIZE, events);
  }

  /** A new helper stream begins (its acks count from its first record). */
  streamStarted(): void {
    this.acks.streamStarted();
  }

  /** The helper's next bytes. The reader keeps views of them (re-delivery memory): never write into a chunk pushed. */
  push(chunk: Buffer): void {
    this.bytesPushed += chunk.length;
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

  /**
   * How many records `bytes` of this stream held, for counting a chunk the reader failed on (lost
   * whole). Fixed records are 256 bytes. Packed entries vary (108–260 bytes): the mean of what
   * this stream has carried so far, or the smallest entry before any, so a loss is never counted
   * at less than half its size the way dividing packed bytes by 256 did. At least 1.
   */
  estimateRecords(bytes: number): number {
    if (!this.packed) return Math.max(1, Math.floor(bytes / RECORD_SIZE));
    const mean = this.framesTaken > 0 ? this.bytesPushed / this.framesTaken : PACKED_MIN_ENTRY;
    return Math.max(1, Math.round(bytes / mean));
  }

  /** The helper's stdout ended: a torn tail is counted, and the next helper starts clean. */
  end(): void {
    const tail = this.splitter.takeTail();
    this.flushRuns(); // the re-delivery memory must hold every record delivered before the end
    if (tail) {
      this.stats.skippedBytes += tail.length;
      // The filter wants the record's own bytes: a packed tail starts with its length word.
      if (!this.redelivery.streamEnded(this.packed ? tail.subarray(HEAD) : tail)) this.splitter.countLost(0);
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

  /** End of the frame starting at p. */
  private frameEnd(buf: Buffer, p: number): number {
    return this.packed ? p + HEAD + keptAt(buf, p) : p + RECORD_SIZE;
  }

  /**
   * A run of records from the splitter, at buf[off, end). The common case (no re-delivery check
   * under way, no rate limit) takes the run whole: marks, the re-delivery memory and the batch in
   * one step each, split only around COUNTERS records; otherwise record by record.
   */
  private onRecords(buf: Buffer, off: number, end: number, n: number): void {
    if (this.redelivery.checking || this.limiter.enabled) {
      for (let p = off; p < end; ) {
        const q = this.frameEnd(buf, p);
        this.onRecord(buf, p, q);
        p = q;
      }
      return;
    }
    const kindAt = this.rec + OFF.kind;
    if (!this.packed) {
      let from = off;
      for (let p = off; p < end; p += RECORD_SIZE) {
        if (buf[p + kindAt] !== KIND_COUNTERS) continue;
        if (p > from) this.takeRun(buf, from, p, (p - from) / RECORD_SIZE);
        this.onRecord(buf, p, p + RECORD_SIZE);
        from = p + RECORD_SIZE;
      }
      if (end > from) this.takeRun(buf, from, end, (end - from) / RECORD_SIZE);
      return;
    }
    let from = off;
    let k = 0;
    for (let p = off; p < end; ) {
      const q = p + HEAD + keptAt(buf, p);
      if (buf[p + kindAt] !== KIND_COUNTERS) {
        k++;
        p = q;
        continue;
      }
      if (k > 0) this.takeRun(buf, from, p, k);
      this.onRecord(buf, p, q);
      from = p = q;
      k = 0;
    }
    if (k > 0) this.takeRun(buf, from, end, k);
  }

  /** `n` data records at buf[off, end), none rate-limited: remembered and batched as one run. */
  private takeRun(buf: Buffer, off: number, end: number, n: number): void {
    const mark = this.acks.take(n);
    this.chunkReceived += n;
    this.seen.extend(buf, off, end, mark, this.flushSeen, n);
    this.batched.extend(buf, off, end, mark, this.flushBatched, n);
  }

  /** The record framed at buf[p, q). */
  private onRecord(buf: Buffer, p: number, q: number): void {
    const mark = this.acks.take();
    const r = p + this.rec;
    if (buf[r + OFF.kind] === KIND_COUNTERS) {
      this.stats.countersRecords++;
      const d = this.kernel.update(readCounters(...this.whole(buf, p, q)));
      this.hooks.kernelGenerated(d[COUNTER_SLOT.generated]!);
      this.ledger.drop('kernel', 'ringbuf_full', d[COUNTER_SLOT.ringbuf_full]!);
      return;
    }
    if (this.redelivery.checking) {
      // A new stream's first records: one by one, after what is already in hand.
      this.flushRuns();
      if (this.redelivery.repeated(buf, p, this.packed)) return;
      this.chunkReceived++;
      if (this.limiter.admit(buf, r, q - r)) this.flushBatched(buf, p, q, 1, mark);
      else this.chunkSuppressed++;
      return;
    }
    this.chunkReceived++;
    this.seen.extend(buf, p, q, mark, this.flushSeen);
    if (this.limiter.admit(buf, r, q - r)) this.batched.extend(buf, p, q, mark, this.flushBatched);
    else this.chunkSuppressed++;
  }

  /** The whole 256-byte record framed at buf[p, q): in place, or zero-extended into scratch (packed). */
  private whole(buf: Buffer, p: number, q: number): [Buffer, number] {
    if (!this.packed) return [buf, p];
    this.scratch.fill(0);
    buf.copy(this.scratch, 0, p + HEAD, q);
    return [this.scratch, 0];
  }

  private readonly flushSeen = (buf: Buffer, off: number, _end: number, n: number): void => this.redelivery.remember(buf, off, n, this.packed);
  private readonly flushBatched = (buf: Buffer, off: number, end: number, n: number, mark: number): void => {
    if (this.packed) this.batcher.addPacked(buf, off, end, n, mark);
    else this.batcher.addRun(buf, off, n, mark);
  };

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
