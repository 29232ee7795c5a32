import { describe, expect, it } from 'vitest';
import { RestartPolicy } from './restart-policy.ts';

const opts = { initialDelayMs: 100, maxDelayMs: 1000, healthyAfterMs: 5000, maxConsecutiveCrashes: 4 };

describe('RestartPolicy', () => {
  it('backs off exponentially up to the cap while crashes come quickly', () => {
    const p = new RestartPolicy(opts);
    const delays = [1, 2, 3, 4].map(() => p.onExit(10, false));
    expect(delays).toEqual([100, 200, 400, 800].map((delayMs) => ({ restart: true, delayMs })));
  });

  it('gives up after the crash-loop limit, naming why', () => {
    const p = new RestartPolicy(opts);
    for (let i = 0; i < 4; i++) expect(p.onExit(10, false).restart).toBe(true);
    const last = p.onExit(10, false);
    expect(last.restart).toBe(false);
    expect(last.restart === false && last.reason).toMatch(/crash-loop: 4 restarts/);
  });

  it('a run that lasted resets the backoff', () => {
    const p = new RestartPolicy(opts);
    p.onExit(10, false);
    p.onExit(10, false);
    expect(p.onExit(60_000, false)).toEqual({ restart: true, delayMs: 100 });
  });

  it('never restarts what it was asked to stop', () => {
    expect(new RestartPolicy(opts).onExit(10, true)).toEqual({ restart: false, reason: 'stopped' });
  });

  it('caps the delay', () => {
    const p = new RestartPolicy({ ...opts, maxConsecutiveCrashes: 100 });
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const d = p.onExit(10, false);
      if (d.restart) last = d.delayMs;
    }
    expect(last).toBe(1000);
  });
});
