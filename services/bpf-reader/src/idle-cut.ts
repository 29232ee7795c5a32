// Adaptive batch cut for the reader. The batcher's time bound (READER_BATCH_MS) is what lets
// batches grow under load, but on a quiet pipe it is pure wait: a lone denied connect sat up to
// 50 ms before anything downstream saw it. So: when no batch was cut for a whole window (the pipe
// was idle) and nothing is queued for JetStream, the records a chunk just brought go out at once.
// Under steady load batches are cut by the timer or by size within every window, so this never
// fires and batches keep their size.

export class IdleCut {
  private lastCut = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A batch was cut (by size, by the timer or by this policy). */
  cut(): void {
    this.lastCut = this.now();
  }

  /** After a chunk was taken in: `pending` records in the open batch, `queued` records not yet acknowledged by JetStream. */
  cutNow(pending: number, queued: number): boolean {
    return pending > 0 && queued === 0 && this.now() - this.lastCut > this.windowMs;
  }
}
