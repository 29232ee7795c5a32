import { describe, expect, it } from 'vitest';
import { isTransientJetStreamError, retryTransient } from './retry-transient.ts';

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' });

function clock() {
  let t = 0;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (waits.push(ms), (t += ms)), waits };
}

describe('retryTransient', () => {
  it('waits out timeouts and placement refusals with a doubling backoff, then returns', async () => {
    const c = clock();
    const errors = [timeout(), new Error('no suitable peers for placement, peer offline'), timeout()];
    let calls = 0;
    const r = await retryTransient(async () => {
      calls++;
      const e = errors.shift();
      if (e) throw e;
      return 'ok';
    }, { deadlineMs: 60_000, now: c.now, sleep: c.sleep });
    expect(r).toBe('ok');
    expect(calls).toBe(4);
    expect(c.waits).toEqual([250, 500, 1000]);
  });

  it('rethrows at once what is not transient (a bad stream config is not going to heal)', async () => {
    const c = clock();
    await expect(retryTransient(async () => Promise.reject(new Error('stream name already in use with a different configuration')), { deadlineMs: 60_000, now: c.now, sleep: c.sleep })).rejects.toThrow(/different configuration/);
    expect(c.waits).toEqual([]);
  });

  it('gives up with the last error once the deadline would pass', async () => {
    const c = clock();
    await expect(retryTransient(async () => Promise.reject(timeout()), { deadlineMs: 3000, now: c.now, sleep: c.sleep })).rejects.toThrow('timeout');
    expect(c.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3000);
    expect(c.waits.length).toBeGreaterThan(2);
  });

  it('classifies', () => {
    expect(isTransientJetStreamError(timeout())).toBe(true);
    expect(isTransientJetStreamError(new Error('JetStream system temporarily unavailable'))).toBe(true);
    expect(isTransientJetStreamError(new Error('insufficient resources'))).toBe(false);
    expect(isTransientJetStreamError('timeout')).toBe(false);
  });
});
