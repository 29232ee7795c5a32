// JetStream answers "not now" for a while after a fault in a cluster: the meta leader is being
// elected (requests time out, "JetStream system temporarily unavailable"), or a restarted peer has
// not rejoined yet ("no suitable peers for placement"). A service starting in that window should
// wait it out, saying so, instead of exiting on the first timeout; anything else, and anything
// still failing after the deadline, is thrown as before (the supervisor restarts the service).

const TRANSIENT = /timeout|timed out|temporarily unavailable|no suitable peers|peer offline|leader/i;

export function isTransientJetStreamError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'TimeoutError' || TRANSIENT.test(err.message);
}

export interface RetryOptions {
  /** Give up (rethrow) once this much time has passed since the first try. */
  deadlineMs: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onRetry?: (err: Error, attempt: number, waitMs: number) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export async function retryTransient<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  let wait = o.initialBackoffMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientJetStreamError(err) || now() - started + wait > o.deadlineMs) throw err;
      o.onRetry?.(err as Error, attempt, wait);
      await sleep(wait);
      wait = Math.min(wait * 2, o.maxBackoffMs ?? 5000);
    }
  }
}
