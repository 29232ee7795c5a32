// A clock that moves only when a test moves it, for logic that takes `Timers` (@sluice/runtime).
// Time never passes on its own, so a test says exactly how much elapsed and nothing races the wall
// clock. Between timer firings it lets pending promise work run, so chains started by a timer
// (a write, its retry, the next schedule) settle before time moves again.
import type { TimerHandle, Timers } from '@sluice/runtime';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

/** Let every queued promise continuation run: setImmediate fires only after the microtask queue is empty. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export class FakeClock implements Timers {
  private t = 0;
  private nextId = 1;
  private timers: Pending[] = [];

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms);
  }
  clearTimeout(h: TimerHandle): void {
    this.timers = this.timers.filter((p) => p.id !== h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }
  clearInterval(h: TimerHandle): void {
    this.clearTimeout(h);
  }

  /** Timers waiting to fire (intervals included). */
  get pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, firing every timer due on the way in time order, settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = this.earliest();
      if (!due || due.at > end) break;
      this.t = Math.max(this.t, due.at);
      if (due.every !== undefined) due.at += due.every;
      else this.timers = this.timers.filter((p) => p !== due);
      due.fn();
      await settle();
    }
    this.t = end;
  }

  /**
   * Advance from timer to timer until `done()` holds; fails naming `what` if it does not within
   * `limitMs` of clock time (which costs no wall time).
   */
  async until(what: string, done: () => boolean, limitMs = 60_000): Promise<void> {
    const start = this.t;
    await settle();
    while (!done()) {
      const due = this.earliest();
      if (!due || due.at - start > limitMs) {
        throw new Error(`fake clock: ${what} did not happen within ${limitMs} ms of clock time`);
      }
      await this.advance(due.at - this.t);
    }
  }

  private earliest(): Pending | undefined {
    let e: Pending | undefined;
    for (const p of this.timers) if (!e || p.at < e.at || (p.at === e.at && p.id < e.id)) e = p;
    return e;
  }

  private add(fn: () => void, ms: number, every?: number): number {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn, every });
    return id;
  }
}
