// Which of the helper's records the reader is done with, so the helper can release them from the
// ring (bpf/src/acks.h: `sluice-bpf stream --ack-stdin`). A record is done once JetStream
// acknowledged the batch holding it, or once it was counted as a drop, or when it is not data
// (COUNTERS, a re-delivery JetStream already holds). The helper learns a count of its stream's
// records, so "done" must be a prefix: the count is where the oldest record not yet done starts.
//
// Every record the helper sends gets a mark, a number counting up across helper restarts. A
// batch is known by the mark of its first helper record (batches are cut in mark order). Marks
// below the first batch still open or in flight are done. After a helper restart the new stream's
// first records may repeat records still in flight from the old one (redelivery.ts filters
// them): they become done only when those batches are, which the ordering gives for free, as the
// old batches carry lower marks.
export class AckWindow {
  private next = 0; // mark of the next record
  private streamStart = 0; // mark of the current stream's first record
  private readonly pending: Array<{ mark: number; done: boolean }> = [];
  private sent = 0;

  /** A new helper stream begins: its records count from zero. */
  streamStarted(): void {
    this.streamStart = this.next;
    this.sent = 0;
  }

  /** The next `n` helper records arrived; the mark of the first (the others follow it). */
  take(n = 1): number {
    const mark = this.next;
    this.next += n;
    return mark;
  }

  /** A batch whose first helper record has `mark` left the batcher (undefined: none of the helper's). */
  inFlight(mark: number | undefined): void {
    if (mark !== undefined) this.pending.push({ mark, done: false });
  }

  /** That batch is acknowledged by JetStream or counted as dropped. */
  settled(mark: number | undefined): void {
    if (mark === undefined) return;
    const e = this.pending.find((p) => p.mark === mark);
    if (e) e.done = true;
    while (this.pending.length > 0 && this.pending[0]!.done) this.pending.shift();
  }

  /**
   * How many of the current stream's records are done, given the first mark of the batch still
   * being filled; undefined if that did not move since the last call (nothing to tell the helper).
   */
  ackable(openMark: number | undefined): number | undefined {
    let upTo = this.next;
    if (this.pending.length > 0) upTo = Math.min(upTo, this.pending[0]!.mark);
    if (openMark !== undefined) upTo = Math.min(upTo, openMark);
    const n = Math.max(0, upTo - this.streamStart);
    if (n <= this.sent) return undefined;
    this.sent = n;
    return n;
  }
}
