// Records the helper may send twice, and how the reader keeps them from becoming two events.
//
// The helper releases a record from the kernel ring only once the reader acknowledged it
// (ack-window.ts, bpf/src/acks.h), so whatever a dead helper or a dead reader had not
// acknowledged is streamed again by the next helper, from the ring's consumer position: up to
// `window` records (the helper's --max-unacked) at the start of the new stream may repeat records
// already delivered. Published twice they would be two events (distinct sequence ids) for one
// attempt, so the reader filters them:
//   - the helper restarted, the reader lived: the reader remembers the last `window` records it
//     received (whatever their fate: in flight, published or dropped, each is accounted once);
//   - the reader restarted: it seeds the same memory from the tail of its node's SLUICE_RAW
//     subject (raw-tail.ts), i.e. what JetStream already holds; a re-sent record not found there
//     never landed and is published now.
// Identity is the whole 256-byte record: a re-delivery is byte-identical, two real events never
// are (boot-clock ns timestamp, socket cookie, task). The first `window` records of a new stream
// are checked against that memory, in any order (batches land out of order when one is retried).
// A record torn by a helper's death was not delivered: if it comes again it is delivered, and if
// it does not within the window it is counted as lost (reason=decode).
//
// The memory is views of the helper's chunks, not copies: the reader never writes into a chunk,
// and a copy of every record was a tenth of the reader's time. Runs are kept in the stream's
// format (fixed or packed entries) and turned into whole records only when a stream ends.
import { HEAD, keptAt } from './packed-frames.ts';
import { OFF, RECORD_SIZE, RECORD_VERSION } from './layout.ts';

/** A torn tail shorter than this (header + timestamp, cgroup, cookie, task) cannot be told apart. */
const MIN_TORN = OFF.tsNs + 32;
const ZEROS = '\0'.repeat(RECORD_SIZE);

/** Identity of the record at buf[off]: its 256 bytes as a string (a packed entry zero-extended). */
export function recordId(buf: Buffer, off: number, packed: boolean): string {
  if (!packed) return buf.toString('latin1', off, off + RECORD_SIZE);
  const kept = keptAt(buf, off);
  return buf.toString('latin1', off + HEAD, off + HEAD + kept) + ZEROS.slice(kept);
}

interface Held {
  buf: Buffer;
  off: number;
  n: number;
  packed: boolean;
}

export class RedeliveryFilter {
  /** Views of the last runs delivered, oldest first from `head`: at least the last `window` records. */
  private held: Array<Held | undefined> = [];
  private head = 0;
  private heldN = 0;
  private recent: Set<string> | undefined;
  private left = 0;
  private tornId: string | undefined;
  redelivered = 0;

  constructor(
    private readonly window: number,
    /** A torn record that never came again: lost. */
    private readonly tornLost: () => void,
  ) {}

  /** True while a new stream's first records must be checked one by one with repeated(). */
  get checking(): boolean {
    return this.recent !== undefined;
  }

  /**
   * Remember `n` records lying back to back at buf[off…] (packed: entries), delivered and not
   * checked (checking is false): what repeated() does for one record that is not a repeat.
   * Keeps a view; buf must not change afterwards.
   */
  remember(buf: Buffer, off: number, n: number, packed: boolean): void {
    this.held.push({ buf, off, n, packed });
    this.heldN += n;
    // The oldest run goes once the others hold a window's worth.
    for (let h = this.held[this.head]!; this.heldN - h.n >= this.window; h = this.held[this.head]!) {
      this.heldN -= h.n;
      this.held[this.head++] = undefined;
    }
    if (this.head > 64 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }

  /** True if the kernel record at buf[off] (packed: the entry there) repeats one already delivered (skip it). */
  repeated(buf: Buffer, off: number, packed = false): boolean {
    let repeat = false;
    if (this.recent) {
      const id = recordId(buf, off, packed);
      if (this.tornId !== undefined && id.startsWith(this.tornId)) {
        this.tornId = undefined; // the torn record came again: delivered now
      } else if (this.recent.delete(id)) {
        this.redelivered++;
        repeat = true;
      }
      if (--this.left <= 0 || (this.recent.size === 0 && this.tornId === undefined)) this.endRecovery();
    }
    if (!repeat) this.remember(buf, off, 1, packed);
    return repeat;
  }

  /**
   * The stream ended. `tail`: the bytes of a record torn at the end (from its first byte, no
   * length word), if any; returns true if the filter takes over accounting for it (it may come
   * again), false if the caller counts it.
   */
  streamEnded(tail: Buffer | undefined): boolean {
    // A restart during recovery: what was still expected may still come (from the ring, again).
    const set = new Set<string>(this.recent);
    for (const id of this.lastDelivered()) set.add(id);
    this.held = [];
    this.head = 0;
    this.heldN = 0;
    let takes = false;
    if (tail && tail.length >= MIN_TORN && tail[OFF.version] === RECORD_VERSION) {
      if (this.tornId !== undefined) this.tornLost(); // one torn record is tracked; an older one is given up
      this.tornId = tail.toString('latin1');
      takes = true;
    }
    this.begin(set);
    return takes;
  }

  /** A reader starting afresh: these records (JetStream's tail for this node and boot) may come again. */
  seed(records: readonly Buffer[]): void {
    this.begin(new Set(records.map((r) => r.toString('latin1', 0, RECORD_SIZE))));
  }

  /** Records still expected in the current recovery (0 once it ended). */
  get recovering(): number {
    return this.recent ? this.recent.size : 0;
  }

  private begin(set: Set<string>): void {
    if (set.size === 0 && this.tornId === undefined) {
      this.recent = undefined;
      return;
    }
    this.recent = set;
    this.left = this.window;
  }

  /** The last `window` records delivered, as identities. */
  private lastDelivered(): string[] {
    let skip = this.heldN - this.window;
    const out: string[] = [];
    for (let i = this.head; i < this.held.length; i++) {
      const { buf, off, n, packed } = this.held[i]!;
      for (let k = 0, p = off; k < n; k++) {
        if (skip > 0) skip--;
        else out.push(recordId(buf, p, packed));
        p += packed ? HEAD + keptAt(buf, p) : RECORD_SIZE;
      }
    }
    return out;
  }

  private endRecovery(): void {
    if (this.tornId !== undefined) this.tornLost();
    this.tornId = undefined;
    this.recent = undefined;
  }
}
