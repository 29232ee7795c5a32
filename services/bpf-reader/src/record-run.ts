// A run of records lying back to back in one buffer, with consecutive marks. The reader copies
// each record twice (into the re-delivery memory and into a batch); a Buffer copy costs a native
// call, several times the rest of the per-record work, so adjacent records are copied as one run.
// A run never outlives the chunk it points into: the reader flushes it when the chunk is done.
export type RunSink = (buf: Buffer, off: number, n: number, firstMark: number) => void;

export class RecordRun {
  private buf: Buffer | undefined;
  private off = 0;
  private n = 0;
  private mark = 0;

  constructor(private readonly size: number) {}

  /** Add the `n` records at buf[off…] (marks from `mark` on); records not adjacent to the run flush it first. */
  extend(buf: Buffer, off: number, mark: number, sink: RunSink, n = 1): void {
    if (this.n > 0 && buf === this.buf && off === this.off + this.n * this.size && mark === this.mark + this.n) {
      this.n += n;
      return;
    }
    this.flush(sink);
    this.buf = buf;
    this.off = off;
    this.n = n;
    this.mark = mark;
  }

  flush(sink: RunSink): void {
    if (this.n === 0) return;
    const { buf, off, n, mark } = this;
    this.reset();
    sink(buf!, off, n, mark);
  }

  reset(): void {
    this.buf = undefined;
    this.n = 0;
  }
}
