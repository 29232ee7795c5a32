// Time and timers as a dependency, so logic that waits (linger, backoff, keep-alive) can be driven
// by a test's clock instead of the wall clock. Production passes nothing and gets `realTimers`.

/** Opaque timer handle: only ever handed back to the clear function of the clock that made it. */
export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds, comparable only with other readings of the same clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
  /** A repeating background timer; it must not keep the process alive on its own. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(h: TimerHandle): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};
