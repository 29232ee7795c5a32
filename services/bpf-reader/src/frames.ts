// Splits the helper's byte stream into fixed-size kernel records, and resynchronises after bytes
// that are not records (a helper bug, a write torn by kill -9, a corrupted pipe).
//
// The stream is records back to back, so the happy path is a stride walk. A position holds a
// record when its header passes `plausible` (version, kind range, zero padding: random bytes pass
// with odds around 2^-100). A record whose successor position is not plausible may be a torn
// record: if a plausible record chain starts inside its span, the bytes before it are dropped.
// Every byte ends up either in an emitted record or in a counted malformed run: no silent loss.
// Limit: a torn record whose would-be end coincides with the end of a read passes as a record
// (its successor is not there to contradict it). The helper writes whole records, so tearing
// only happens where it dies, and the stream's end() is then what judges the remainder.
import { SplitterBase } from './splitter-base.ts';
import { KIND_COUNTERS, KIND_DNS, KIND_ESCAPE, KIND_MAX, MODE_MAX, OFF, REASON_MAX, RECORD_VERSION, VERDICT_MAX } from './layout.ts';

/**
 * Cheap check of the record header at `off` (needs OFF.reserved1 + 4 bytes): what the contracts
 * decoder would refuse (version, kind, enum ranges, family) plus the zeroed padding. A record
 * that passes decodes; one that fails is counted here, where malformed frames are counted,
 * instead of surprising a consumer.
 */
export function plausible(buf: Buffer, off: number): boolean {
  if (buf[off + OFF.version] !== RECORD_VERSION) return false;
  const kind = buf[off + OFF.kind]!;
  if (kind === 0 || kind > KIND_MAX || buf[off + OFF.pad0] !== 0) return false;
  // Byte reads, not readUInt32LE: this runs once per record, and the call's checks cost more.
  const r0 = off + OFF.reserved0;
  const r1 = off + OFF.reserved1;
  if ((buf[r0]! | buf[r0 + 1]! | buf[r0 + 2]! | buf[r0 + 3]! | buf[r1]! | buf[r1 + 1]! | buf[r1 + 2]! | buf[r1 + 3]!) !== 0) return false;
  if (kind === KIND_COUNTERS) return true;
  const family = buf[off + OFF.family];
  if (family !== 2 && family !== 10) return false;
  if (kind === KIND_DNS || kind === KIND_ESCAPE) return true; // DNS answers and escapes carry no verdict
  const verdict = buf[off + OFF.verdict]!;
  return verdict >= 1 && verdict <= VERDICT_MAX && buf[off + OFF.reason]! <= REASON_MAX && buf[off + OFF.mode]! <= MODE_MAX;
}

export interface SplitterEvents {
  /**
   * `n` records back to back at buf[off, end) in the stream's format (fixed: n × size bytes;
   * packed: n entries, packed-frames.ts): a run of whole records, handed on in one call (a call
   * per record cost more than the rest of the reader's per-record work). The splitter never
   * writes into `buf` afterwards (it is the pushed chunk or a new concatenation), so a consumer
   * may keep a view of it. Runs arrive in stream order, interleaved in order with
   * malformed()/skipped().
   */
  records(buf: Buffer, off: number, end: number, n: number): void;
  /** A new malformed run started (counted once as a dropped record, reason=decode). */
  malformed(): void;
  /** Bytes skipped, whether in a new run or continuing one. */
  skipped(bytes: number): void;
}

/** What the reader needs of a splitter, whichever stream format it reads. */
export interface Splitter {
  push(chunk: Buffer): void;
  end(): void;
  takeTail(): Buffer | undefined;
  countLost(bytes: number): void;
  readonly pending: number;
}

export class FrameSplitter extends SplitterBase {
  constructor(
    private readonly size: number,
    events: SplitterEvents,
    private readonly check: (buf: Buffer, off: number) => boolean = plausible,
  ) {
    super(events);
  }

  push(chunk: Buffer): void {
    this.walk(this.carry ? Buffer.concat([this.carry, chunk]) : chunk, false);
  }

  protected walkFinal(): void {
    if (this.carry) this.walk(this.carry, true);
  }

  private walk(buf: Buffer, final: boolean): void {
    this.carry = undefined;
    const size = this.size;
    const len = buf.length;
    let off = 0;
    // The run of whole records found so far and not yet handed on: [runAt, off).
    let runAt = 0;
    // The successor check of one record is the check of the next: each header is tested once.
    let checked = -1;
    while (len - off >= size) {
      if (off === checked || this.check(buf, off)) {
        const next = off + size;
        // Only with the successor in hand can a torn record be told from a whole one: wait for
        // the rest of a partly arrived successor (the aligned case, a chunk ending on a record
        // boundary, never waits).
        if (!final && len > next && len - next < size) break;
        if (len - next >= size) {
          if (this.check(buf, next)) checked = next;
          else {
            const restart = this.chainStartWithin(buf, off + 1, next);
            if (restart !== -1) {
              this.emit(buf, runAt, off);
              this.skip(restart - off);
              off = runAt = restart;
              continue;
            }
          }
        }
        this.inRun = false;
        off = next;
        continue;
      }
      this.emit(buf, runAt, off);
      // Jump to the next byte that could start a header rather than testing every position.
      let cand = buf.indexOf(RECORD_VERSION, off + 1);
      if (cand === -1 || cand > len - size) cand = Math.max(off + 1, len - size + 1);
      this.skip(cand - off);
      off = runAt = cand;
    }
    this.emit(buf, runAt, off);
    if (off < len) this.carry = Buffer.from(buf.subarray(off));
  }

  /** Hand on the whole records in buf[from, to). */
  private emit(buf: Buffer, from: number, to: number): void {
    if (to > from) this.events.records(buf, from, to, (to - from) / this.size);
  }

  /** First q in [from, to) where a plausible record starts whose successor is plausible or unseen. */
  private chainStartWithin(buf: Buffer, from: number, to: number): number {
    const len = buf.length;
    for (let q = from; q < to; q++) {
      if (buf[q] !== RECORD_VERSION) continue;
      if (q + this.size > len) return -1;
      if (!this.check(buf, q)) continue;
      const after = q + this.size;
      if (len - after < this.size || this.check(buf, after)) return q;
    }
    return -1;
  }
}
