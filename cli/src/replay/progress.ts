// Progress for long operations, on stderr: a redrawn bar on a terminal, a line every few seconds
// otherwise (CI logs), never on stdout.
export class Progress {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, force = false): void {
    const now = Date.now();
    const tty = this.stream.isTTY === true;
    if (!force && now - this.last < (tty ? 100 : 5000)) return;
    this.last = now;
    const rate = done / Math.max((now - this.started) / 1000, 0.001);
    const pct = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(pct * width)).padEnd(width, ' ');
    const line = `${this.label} [${bar}] ${(pct * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${rate.toFixed(0)}/s`;
    this.stream.write(tty ? `\r${line}` : `${line}\n`);
  }

  finish(done: number): void {
    this.update(done, true);
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

/** Token-bucket pacing for `--rate N` (messages per second); 0 means unlimited. */
export function pacer(rate: number): () => Promise<void> {
  if (rate <= 0) return async () => {};
  const interval = 1000 / rate;
  let next = Date.now();
  return async () => {
    next += interval;
    const wait = next - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  };
}
