import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { supervise, type Stoppable } from './supervise.ts';

const log = createLogger('supervise-test', 'silent');

/** A stream that yields `items`, then throws `fault` (or waits until stopped when fault is undefined). */
function stream<T>(items: T[], fault?: Error): Stoppable<T> {
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    stop() {
      stopped = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (const i of items) yield i;
      if (fault) throw fault;
      while (!stopped) await new Promise<void>((r) => (wake = r));
    },
  };
}

function waitUntil(cond: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const tick = () => (cond() ? resolve() : Date.now() > deadline ? reject(new Error('condition not met')) : setTimeout(tick, 1));
    tick();
  });
}

describe('supervise', () => {
  it('restarts a stream that throws, with doubling backoff reset by delivery; state goes red meanwhile', async () => {
    const opens = [
      () => Promise.reject(new Error('bucket not found')),
      () => Promise.reject(new Error('no responders')),
      () => Promise.resolve(stream([], new Error('consumer deleted'))),
      () => Promise.resolve(stream([1, 2], new Error('heartbeats missed'))),
      () => Promise.resolve(stream([3])),
    ];
    let n = 0;
    const seen: number[] = [];
    const states: string[] = [];
    const sleeps: number[] = [];
    const loop = supervise(() => opens[n++]!(), async (i: number) => void seen.push(i), {
      name: 'doc watch',
      log,
      initialBackoffMs: 100,
      maxBackoffMs: 250,
      onState: (up, detail) => states.push(`${up ? 'up' : 'down'}: ${detail}`),
      sleep: (ms) => (sleeps.push(ms), new Promise<void>((r) => setImmediate(r))),
    });
    await waitUntil(() => seen.length === 3);
    expect(loop.up).toBe(true);
    expect(loop.restarts).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
    // 100, 200, capped at 250, then the stream that delivered reset it before it failed again: 100.
    expect(sleeps).toEqual([100, 200, 250, 100]);
    expect(states).toEqual([
      'down: doc watch down (bucket not found); restarting in 100 ms',
      'down: doc watch down (no responders); restarting in 200 ms',
      'up: doc watch: running',
      'down: doc watch down (consumer deleted); restarting in 250 ms',
      'up: doc watch: running',
      'down: doc watch down (heartbeats missed); restarting in 100 ms',
      'up: doc watch: running',
    ]);
    await loop.stop();
  });

  it('a failing handler restarts the stream too (a watch is never left dead)', async () => {
    let opened = 0;
    const sleeps: number[] = [];
    const loop = supervise(
      async () => {
        opened++;
        return stream(['x']);
      },
      async () => {
        throw new Error('revision 7 is not a valid revision');
      },
      { name: 'w', log, initialBackoffMs: 100, maxBackoffMs: 150, sleep: (ms) => (sleeps.push(ms), new Promise<void>((r) => setImmediate(r))) },
    );
    await waitUntil(() => opened >= 4);
    await loop.stop();
    expect(loop.up).toBe(false);
    // Every stream delivered one item before failing: the backoff resets each time.
    expect(new Set(sleeps)).toEqual(new Set([100]));
  });

  it('a stream that ends on its own is restarted; stop() ends the loop even while it backs off', async () => {
    let opened = 0;
    const loop = supervise(
      async () => {
        opened++;
        return stream<number>([], opened === 1 ? undefined : new Error('gone'));
      },
      async () => undefined,
      { name: 'w', log, initialBackoffMs: 60_000 },
    );
    await waitUntil(() => opened === 1 && loop.up);
    const t0 = Date.now();
    await loop.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(opened).toBe(1);
  });
});
