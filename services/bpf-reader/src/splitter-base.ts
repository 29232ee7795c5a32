// What the two stream splitters (frames.ts: fixed 256-byte records; packed-frames.ts: length-
// prefixed entries) share: the bytes carried over to the next chunk, and the accounting of bad
// runs, so that every byte ends up either in an emitted record or in a counted malformed run.
import type { Splitter, SplitterEvents } from './frames.ts';

export abstract class SplitterBase implements Splitter {
  /** Bytes held back waiting for the rest of a record (or entry). */
  protected carry: Buffer | undefined;
  /** Inside a malformed run: its bytes are counted, the run itself was counted once. */
  protected inRun = false;

  constructor(protected readonly events: SplitterEvents) {}

  abstract push(chunk: Buffer): void;

  /** At the stream's end: walk the carry as final; what stays in `carry` may be a torn tail. */
  protected abstract walkFinal(): void;

  /** The stream ended (helper exited): whatever cannot be a whole record is a torn one or garbage. */
  end(): void {
    this.walkFinal();
    if (this.carry && this.carry.length > 0) this.skip(this.carry.length);
    this.carry = undefined;
    this.inRun = false;
  }

  /**
   * The stream ended; a trailing partial record that may be a torn record is handed back
   * uncounted (the caller decides), anything else left is counted as end() would.
   */
  takeTail(): Buffer | undefined {
    this.walkFinal();
    const tail = this.carry;
    this.carry = undefined;
    if (tail && tail.length > 0 && this.inRun) {
      this.skip(tail.length);
      this.inRun = false;
      return undefined;
    }
    this.inRun = false;
    return tail && tail.length > 0 ? tail : undefined;
  }

  /** Count bytes the caller decided were lost (a tail from takeTail). */
  countLost(bytes: number): void {
    this.skip(bytes);
    this.inRun = false;
  }

  get pending(): number {
    return this.carry?.length ?? 0;
  }

  protected skip(bytes: number): void {
    if (!this.inRun) {
      this.inRun = true;
      this.events.malformed();
    }
    this.events.skipped(bytes);
  }
}
