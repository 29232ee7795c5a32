// When the queued documents go out as a bulk. Adaptive, so neither an idle pipe nor a busy one
// pays a fixed timer: with no bulk in flight the queue is sent at once (an event on a quiet pipe
// waits for nothing but the bulk itself); while a bulk is out, documents gather until a full
// bulk or the linger ends, and the returning bulk's pump takes everything that gathered
// meanwhile, so bulks grow with the load (about rate × bulk latency) without a timer setting it.

export interface FlushState {
  /** Documents queued (not yet in a bulk). */
  queued: number;
  /** The sizer's current bulk size. */
  size: number;
  /** Bulks in flight. */
  inflight: number;
  /** Draining (shutdown): send without waiting. */
  flushing: boolean;
  /** When the oldest queued document was queued (ms, the pipeline's clock). */
  oldestAt: number;
  lingerMs: number;
}

/** The time at or after which the next bulk should go; at or before `now`: send it now. */
export function sendAt(s: FlushState): number {
  if (s.flushing || s.inflight === 0 || s.queued >= s.size) return -Infinity;
  return s.oldestAt + s.lingerMs;
}
