// Collects records into size- and time-bounded batches: a batch is cut when it holds maxRecords
// or when its first record has waited maxDelayMs, whichever comes first. Records are copied once
// into the batch body, packed (each without its trailing zero bytes, after its kept length:
// packages/contracts raw-batch-packed.ts), a run of adjacent records in one call; sequence numbers
// are assigned when the batch is cut. JetStream's cost of a batch follows its bytes, and most
// records leave their 136-byte body union zero. Records from the helper's packed stream are
// already in that form: a run of them is one copy (addPacked).
import { packedCapacity, packRecords, type RawBatchEncoding } from '@sluice/contracts';
import { RECORD_SIZE } from './layout.ts';
import { HEAD, keptAt } from './packed-frames.ts';

/** Acknowledged bodies kept for reuse: each allocation is a megabyte the GC must account for. */
const SPARE_BODIES = 4;

export interface Batch {
  firstSeq: number;
  count: number;
  /** `count` records in the raw-batch format `encoding`. */
  body: Buffer;
  encoding: RawBatchEncoding;
  wallOffsetNs: bigint;
  /** Mark (ack-window.ts) of its first record from the helper; undefined if it holds none. */
  mark?: number;
}

export interface BatcherOptions {
  maxRecords: number;
  maxDelayMs: number;
  /** Body format (READER_RAW_FORMAT); default packed. 'fixed' for consumers older than the packed format. */
  encoding?: RawBatchEncoding;
}

export class Batcher {
  private body: Buffer | undefined;
  private n = 0;
  /** Bytes of the open body in use. */
  private at = 0;
  /** A record the reader makes itself (addWith) is written here, then packed. */
  private readonly scratch = Buffer.alloc(RECORD_SIZE);
  private readonly packed: boolean;
  private firstMark: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bodies of acknowledged batches, filled again (recycle()). */
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    private readonly opts: BatcherOptions,
    private readonly seq: { take(n: number): number },
    private readonly wallOffsetNs: () => bigint,
    private readonly emit: (b: Batch) => void,
  ) {
    if (opts.maxRecords < 1) throw new Error(`batcher: maxRecords ${opts.maxRecords} must be ≥ 1`);
    this.packed = (opts.encoding ?? 'packed') === 'packed';
  }

  /** Append `n` records at buf[off…] to the open body. */
  private put(buf: Buffer, off: number, n: number, body: Buffer): void {
    if (this.packed) this.at = packRecords(buf, off, n, RECORD_SIZE, body, this.at);
    else this.at += buf.copy(body, this.at, off, off + n * RECORD_SIZE);
  }

  /** Copy the record at buf[off]; `mark`: its place in the helper's stream (ack-window.ts). */
  add(buf: Buffer, off: number, mark?: number): void {
    this.firstMark ??= mark;
    this.put(buf, off, 1, this.slot());
    if (++this.n === this.opts.maxRecords) this.cut();
  }

  /**
   * Copy `n` records lying back to back at buf[off…], the first with `mark` (the rest follow it):
   * one copy per run instead of one per record, the reader's main per-record cost otherwise.
   */
  addRun(buf: Buffer, off: number, n: number, mark?: number): void {
    const max = this.opts.maxRecords;
    while (n > 0) {
      const body = this.slot();
      this.firstMark ??= mark;
      const k = Math.min(n, max - this.n);
      this.put(buf, off, k, body);
      this.n += k;
      off += k * RECORD_SIZE;
      n -= k;
      if (mark !== undefined) mark += k;
      if (this.n === max) this.cut();
    }
  }

  /**
   * Copy `n` packed entries (the helper's --packed form, checked by packed-frames.ts) lying at
   * buf[off, end), the first with `mark`: one copy per run into a packed body.
   */
  addPacked(buf: Buffer, off: number, end: number, n: number, mark?: number): void {
    const max = this.opts.maxRecords;
    while (n > 0) {
      const body = this.slot();
      this.firstMark ??= mark;
      const k = Math.min(n, max - this.n);
      let to = end;
      if (k < n) for (let i = 0, p = off; i < k; i++) to = p += HEAD + keptAt(buf, p);
      if (this.packed) this.at += buf.copy(body, this.at, off, to);
      else this.at = unpackInto(buf, off, k, body, this.at);
      this.n += k;
      off = to;
      n -= k;
      if (mark !== undefined) mark += k;
      if (this.n === max) this.cut();
    }
  }

  /** Let `write` fill the next record slot in place (for records the reader itself makes). */
  addWith(write: (out: Buffer, off: number) => void): void {
    this.scratch.fill(0);
    write(this.scratch, 0);
    this.put(this.scratch, 0, 1, this.slot());
    if (++this.n === this.opts.maxRecords) this.cut();
  }

  get pending(): number {
    return this.n;
  }

  /** Mark of the open batch's first helper record (undefined: none in it). */
  get openMark(): number | undefined {
    return this.firstMark;
  }

  /** Emit what is collected now (time bound reached, shutdown, stream end). */
  cut(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.n === 0 || !this.body) return;
    const count = this.n;
    const body = this.body.subarray(0, this.at);
    const mark = this.firstMark;
    this.body = undefined;
    this.n = 0;
    this.at = 0;
    this.firstMark = undefined;
    this.emit({ firstSeq: this.seq.take(count), count, body, encoding: this.packed ? 'packed' : 'fixed', wallOffsetNs: this.wallOffsetNs(), mark });
  }

  /**
   * The batch `body` came from is settled and nothing holds its bytes any more (JetStream
   * acknowledged it: the NATS client copied it out when it flushed, before the ack could come):
   * its memory carries the next batch.
   */
  recycle(body: Buffer): void {
    const ab = body.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === this.capacity && this.spare.length < SPARE_BODIES && !this.spare.includes(ab)) this.spare.push(ab);
  }

  private get capacity(): number {
    return this.packed ? packedCapacity(this.opts.maxRecords, RECORD_SIZE) : this.opts.maxRecords * RECORD_SIZE;
  }

  private slot(): Buffer {
    if (!this.body) {
      // Its own ArrayBuffer (never a pool slice): packing needs the body 4-byte aligned.
      const ab = this.spare.pop();
      this.body = ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(this.capacity);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cut();
      }, this.opts.maxDelayMs);
    }
    return this.body;
  }
}

/** `n` packed entries at buf[off…] as fixed records into out at `at` (a fixed body fed by a packed stream); returns the new end. */
function unpackInto(buf: Buffer, off: number, n: number, out: Buffer, at: number): number {
  for (let i = 0; i < n; i++) {
    const kept = keptAt(buf, off);
    buf.copy(out, at, off + HEAD, off + HEAD + kept);
    out.fill(0, at + kept, at + RECORD_SIZE);
    off += HEAD + kept;
    at += RECORD_SIZE;
  }
  return at;
}
