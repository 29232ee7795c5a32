import { describe, expect, it } from 'vitest';
import { SenderRateLimit } from './rate-limit.ts';

describe('per-sender rate limit', () => {
  it('lets a burst through, then refuses with a wait in proportion, per sender', () => {
    const rl = new SenderRateLimit({ perSecond: 100, burst: 200, maxSenders: 10 });
    expect(rl.take('a', 150, 0)).toEqual({ ok: true });
    expect(rl.take('a', 150, 0)).toEqual({ ok: true }); // into debt: -100
    expect(rl.take('a', 1, 0)).toEqual({ ok: false, retryAfterS: 2 });
    expect(rl.take('b', 1, 0)).toEqual({ ok: true });
    expect(rl.take('a', 1, 1100)).toEqual({ ok: true }); // refilled to +10
  });
});
