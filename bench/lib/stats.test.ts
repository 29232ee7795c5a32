import { describe, expect, it } from 'vitest';
import { percentile } from './stats.ts';

describe('percentile (nearest rank)', () => {
  it('picks the ranked element, whatever the input order', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 90)).toBe(9);
    expect(percentile(xs, 99)).toBe(10);
    expect(percentile(xs, 0)).toBe(1);
  });
  it('refuses an empty sample', () => {
    expect(() => percentile([], 50)).toThrow(/empty/);
  });
});
