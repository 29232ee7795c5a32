// Splits the packed stream of `sluice-bpf stream --packed` (bpf/record.h) into entries, and
// resynchronises after bytes that are not entries, with frames.ts's guarantee: every byte ends up
// either in an emitted record or in a counted malformed run.
//
//   entry   u32 LE kept length L (a multiple of 4, MIN_KEEP ≤ L ≤ RECORD_SIZE), then the record's
//           first L bytes: the SLUICE_RAW packed body form (contracts raw-batch-packed.ts)
//
// The stride varies, so an entry is believed when its length word is in range and its record
// header passes `plausible` (frames.ts), and it is told from a torn one, as there, by its
// successor: an entry whose successor does not check out, with a checking chain starting inside
// its span, was torn there and the bytes before that chain are dropped. The length word's odds
// of passing on random bytes (2^-25) add to the header's (~2^-100). The same limit as frames.ts:
// a torn entry whose would-be end is the end of a read passes as a record. One more, the variable
// stride's own: a torn entry whose would-be end falls exactly on a later entry's end passes too
// (its successor checks out), swallowing the whole entries inside its span into one record with
// the torn entry's header. The fixed stride cannot line up that way. Neither can happen with the
// real helper mid-stream: it writes whole entries to a pipe of its own, so only its death tears
// one, and then its stream ends (the fuzz test in packed-frames.test.ts leaves such streams out).
import { KERNEL_PACKED_STREAM } from '@sluice/contracts';
import { plausible, type SplitterEvents } from './frames.ts';
import { SplitterBase } from './splitter-base.ts';
import { RECORD_SIZE, RECORD_VERSION } from './layout.ts';

export const HEAD = KERNEL_PACKED_STREAM.header;
export const MIN_KEEP = KERNEL_PACKED_STREAM.minKeep;
/** Bytes needed to check an entry: its length and its record header. */
const NEED = HEAD + MIN_KEEP;
/**
 * Bytes of a new chunk that settle every entry starting in the carry before it: the entry
 * (HEAD + RECORD_SIZE at most), a chain starting inside it, and that chain's successor's header.
 */
const SPLICE = 2 * (HEAD + RECORD_SIZE) + NEED;

/** Kept length of the entry at `off` (its length word), before any check. */
export function keptAt(buf: Buffer, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
}

/**
 * Size (HEAD + L) of the entry at `off` if one checks out there, else 0. Needs NEED bytes at off.
 * `check` is the record-header check (plausible, or a test's stand-in).
 */
export function entryAt(buf: Buffer, off: number, check: (buf: Buffer, off: number) => boolean = plausible): number {
  const kept = keptAt(buf, off);
  // One comparison for range and alignment: as unsigned, anything above RECORD_SIZE or negative fails.
  if (kept >>> 0 > RECORD_SIZE || kept < MIN_KEEP || (kept & 3) !== 0) return 0;
  return check(buf, off + HEAD) ? HEAD + kept : 0;
}

export class PackedSplitter extends SplitterBase {
  constructor(
    events: SplitterEvents,
    private readonly check: (buf: Buffer, off: number) => boolean = plausible,
  ) {
    super(events);
  }

  push(chunk: Buffer): void {
    const carry = this.carry;
    this.carry = undefined;
    let buf = chunk;
    let from = 0;
    if (carry) {
      if (chunk.length <= SPLICE) buf = Buffer.concat([carry, chunk]);
      else {
        // A pipe read rarely ends on an entry: rather than copy the whole chunk behind the carry,
        // walk the carry with enough of the chunk to settle every entry starting in it (its
        // successor, or a chain inside it), then go on in the chunk itself.
        const head = Buffer.concat([carry, chunk.subarray(0, SPLICE)]);
        from = this.walk(head, 0, false, carry.length) - carry.length;
        if (from < 0) {
          buf = Buffer.concat([carry, chunk]); // not settled (cannot happen with SPLICE bytes): walk on in the whole
          from += carry.length;
        }
      }
    }
    const stop = this.walk(buf, from, false);
    if (stop < buf.length) this.carry = Buffer.from(buf.subarray(stop));
  }

  /** At the end of the stream: the carry walked as final, what is left of it stays the carry. */
  protected walkFinal(): void {
    const c = this.carry;
    if (!c) return;
    const stop = this.walk(c, 0, true);
    this.carry = stop < c.length ? c.subarray(stop) : undefined;
  }

  /**
   * Walks buf from `start` and hands on what it settles; returns where it stopped (what is left
   * waits for more bytes, or is a torn tail at the end). Stops once past `stopAt`.
   */
  private walk(buf: Buffer, start: number, final: boolean, stopAt = Infinity): number {
    const check = this.check;
    const len = buf.length;
    let off = start;
    // The run of whole entries found so far and not yet handed on: [runAt, off), n entries.
    let runAt = start;
    let n = 0;
    // The successor check of one entry is the check of the next: each header is tested once.
    let checked = -1;
    let checkedSize = 0;
    while (off < stopAt && len - off >= NEED) {
      const size = off === checked ? checkedSize : entryAt(buf, off, check);
      if (size > 0) {
        const next = off + size;
        if (next > len) break; // the rest of this entry is still to come (or, at the end, torn)
        // Only with the successor's header in hand can a torn entry be told from a whole one:
        // wait for it (a chunk ending on an entry boundary never waits).
        if (!final && len > next && len - next < NEED) break;
        if (len - next >= NEED) {
          const nextSize = entryAt(buf, next, check);
          if (nextSize > 0) {
            checked = next;
            checkedSize = nextSize;
          } else {
            const restart = this.chainStartWithin(buf, off + 1, next);
            if (restart !== -1) {
              this.emit(buf, runAt, off, n);
              n = 0;
              this.skip(restart - off);
              off = runAt = restart;
              continue;
            }
          }
        }
        this.inRun = false;
        off = next;
        n++;
        continue;
      }
      this.emit(buf, runAt, off, n);
      n = 0;
      // Jump to the next position whose record would start with the version byte.
      let cand = buf.indexOf(RECORD_VERSION, off + 1 + HEAD) - HEAD;
      if (cand < 0 || cand > len - NEED) cand = Math.max(off + 1, len - NEED + 1);
      this.skip(cand - off);
      off = runAt = cand;
    }
    this.emit(buf, runAt, off, n);
    return off;
  }

  private emit(buf: Buffer, from: number, to: number, n: number): void {
    if (n > 0) this.events.records(buf, from, to, n);
  }

  /** First q in [from, to) where an entry checks out whose successor checks out or is not here yet. */
  private chainStartWithin(buf: Buffer, from: number, to: number): number {
    const len = buf.length;
    for (let q = from; q < to; q++) {
      if (buf[q + HEAD] !== RECORD_VERSION) continue;
      if (len - q < NEED) return -1;
      const size = entryAt(buf, q, this.check);
      if (size === 0) continue;
      const after = q + size;
      if (len - after < NEED || entryAt(buf, after, this.check) > 0) return q;
    }
    return -1;
  }
}
