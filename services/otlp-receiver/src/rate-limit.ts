// Per-sender rate limit on log records (one token each), so one chatty or hostile agent cannot
// take the receiver (or JetStream) from the others. A request is let through while its sender's
// bucket holds any token and then takes all it costs, into debt if need be: a request bigger than
// the burst is never refused forever, and the debt makes the sender wait in proportion.
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  /** Senders tracked at most; the longest idle are forgotten first (a full bucket again). */
  maxSenders: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Decision = { ok: true } | { ok: false; retryAfterS: number };

export class SenderRateLimit {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly o: RateLimitOptions) {}

  take(sender: string, cost: number, nowMs: number): Decision {
    let b = this.buckets.get(sender);
    if (b === undefined) {
      if (this.buckets.size >= this.o.maxSenders) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.o.burst, at: nowMs };
    } else {
      this.buckets.delete(sender); // re-inserted below: Map order is then least recently used first
      b.tokens = Math.min(this.o.burst, b.tokens + ((nowMs - b.at) / 1000) * this.o.perSecond);
      b.at = nowMs;
    }
    this.buckets.set(sender, b);
    if (b.tokens <= 0) return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.o.perSecond)) };
    b.tokens -= cost;
    return { ok: true };
  }
}
