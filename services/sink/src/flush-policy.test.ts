import { describe, expect, it } from 'vitest';
import { sendAt } from './flush-policy.ts';

const base = { queued: 10, size: 1000, inflight: 1, flushing: false, oldestAt: 5_000, lingerMs: 200 };

describe('sendAt', () => {
  it('sends at once when no bulk is out, however few documents are queued', () => {
    expect(sendAt({ ...base, inflight: 0, queued: 1 })).toBeLessThan(5_000);
  });
  it('while a bulk is out, lets a partial bulk gather until the linger ends', () => {
    expect(sendAt(base)).toBe(5_200);
  });
  it('sends a full bulk at once even while another is out', () => {
    expect(sendAt({ ...base, queued: 1000 })).toBeLessThan(5_000);
  });
  it('sends at once when draining', () => {
    expect(sendAt({ ...base, flushing: true })).toBeLessThan(5_000);
  });
});
