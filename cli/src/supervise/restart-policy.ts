// When a supervised service exits, whether and when to start it again: exponential backoff that
// resets once a run lasted long enough to count as healthy, and a crash-loop limit so a service
// that cannot start (bad config exits 2 at once) stops burning the machine and says so instead.

export interface RestartPolicyOptions {
  /** First delay; doubles per consecutive crash. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long resets the backoff: the crash was not part of a loop. */
  healthyAfterMs: number;
  /** More consecutive short-lived runs than this: give up (state `crash-loop`). */
  maxConsecutiveCrashes: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  healthyAfterMs: 30_000,
  maxConsecutiveCrashes: 8,
};

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: string };

export class RestartPolicy {
  private consecutive = 0;

  constructor(private readonly o: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** The service exited after running `ranMs`; `stopping` means we asked it to. */
  onExit(ranMs: number, stopping: boolean): RestartDecision {
    if (stopping) return { restart: false, reason: 'stopped' };
    if (ranMs >= this.o.healthyAfterMs) this.consecutive = 0;
    this.consecutive += 1;
    if (this.consecutive > this.o.maxConsecutiveCrashes) {
      return { restart: false, reason: `crash-loop: ${this.consecutive - 1} restarts in a row each ran under ${this.o.healthyAfterMs} ms` };
    }
    const delayMs = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * 2 ** (this.consecutive - 1));
    return { restart: true, delayMs };
  }
}
