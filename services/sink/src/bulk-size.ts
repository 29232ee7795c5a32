// Bulk size adapts to latency (additive increase, multiplicative decrease): grow while bulks come
// back faster than the target, halve when one is slow or the server pushes back. Large bulks
// amortise per-request cost; bounded ones keep a slow cluster from being buried.

export interface BulkSizerOptions {
  min: number;
  max: number;
  targetMs: number;
  /** Docs added per fast, full bulk. */
  step?: number;
}

export class BulkSizer {
  private current: number;
  private readonly step: number;

  constructor(private readonly opts: BulkSizerOptions) {
    if (opts.min < 1 || opts.max < opts.min) throw new Error(`bulk size bounds invalid: min ${opts.min}, max ${opts.max}`);
    this.current = Math.min(opts.max, Math.max(opts.min, 1000));
    this.step = opts.step ?? Math.max(1, Math.round(opts.max / 20));
  }

  get size(): number {
    return this.current;
  }

  /** A bulk of `docs` took `ms`. Only a full bulk says anything about whether bigger would fit. */
  observe(ms: number, docs: number): void {
    if (ms > this.opts.targetMs) this.shrink();
    else if (docs >= this.current) this.current = Math.min(this.opts.max, this.current + this.step);
  }

  /** Slow bulk, 413 or 429: halve. */
  shrink(): void {
    this.current = Math.max(this.opts.min, Math.floor(this.current / 2));
  }
}

/** Exponential backoff with full jitter, capped; `reset` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 200,
    private readonly capMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
