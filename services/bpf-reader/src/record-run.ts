// A run of records lying back to back in one buffer, with consecutive marks. The reader copies
// each run into a batch and keeps a view of it for re-delivery checks; a Buffer copy costs a
// native call, several times the rest of the per-record work, so adjacent records go as one run.
// A run is bytes [off, end) holding n records in the stream's format (fixed or packed entries).
export type RunSink = (buf: Buffer, off: number, end: number, n: number, firstMark: number) => void;

export class RecordRun {
  private buf: Buffer | undefined;
  private off = 0;
  private end = 0;
  private n = 0;
  private mark = 0;

  /** Add the `n` records at buf[off, end) (marks from `mark` on); records not adjacent to the run flush it first. */
  extend(buf: Buffer, off: number, end: number, mark: number, sink: RunSink, n = 1): void {
    if (this.n > 0 && buf === this.buf && off === this.end && mark === this.mark + this.n) {
      this.n += n;
      this.end = end;
      return;
    }
    this.flush(sink);
    this.buf = buf;
    this.off = off;
    this.end = end;
    this.n = n;
    this.mark = mark;
  }

  flush(sink: RunSink): void {
    if (this.n === 0) return;
    const { buf, off, end, n, mark } = this;
    this.reset();
    sink(buf!, off, end, n, mark);
  }

  reset(): void {
    this.buf = undefined;
    this.n = 0;
  }
}
