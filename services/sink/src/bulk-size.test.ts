import { describe, expect, it } from 'vitest';
import { Backoff, BulkSizer } from './bulk-size.ts';

describe('BulkSizer', () => {
  it('grows on fast full bulks up to max, halves on slow ones down to min', () => {
    const s = new BulkSizer({ min: 100, max: 2000, targetMs: 500, step: 500 });
    expect(s.size).toBe(1000);
    s.observe(100, 1000);
    expect(s.size).toBe(1500);
    s.observe(100, 10); // a small bulk says nothing about capacity
    expect(s.size).toBe(1500);
    s.observe(100, 1500);
    s.observe(100, 2000);
    expect(s.size).toBe(2000);
    s.observe(900, 2000);
    expect(s.size).toBe(1000);
    for (let i = 0; i < 10; i++) s.shrink();
    expect(s.size).toBe(100);
  });
  it('refuses inverted bounds', () => {
    expect(() => new BulkSizer({ min: 10, max: 5, targetMs: 1 })).toThrow(/min 10, max 5/);
  });
});

describe('Backoff', () => {
  it('doubles within jitter bounds, caps, and resets', () => {
    const b = new Backoff(100, 1000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    const low = new Backoff(100, 1000, () => 0);
    expect(low.next()).toBe(50);
    expect(b.next()).toBe(100);
  });
});
