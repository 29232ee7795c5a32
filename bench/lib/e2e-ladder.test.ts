import { describe, expect, it } from 'vitest';
import { goalRate, ladderFigures, ladderRates, meetsGoal, type LadderStep } from './e2e-ladder.ts';

const step = (rate: number, p99: number, missing = 0): LadderStep => ({ rate, latencies: Array.from({ length: 100 }, (_, i) => (i < 98 ? 100 : p99)), missing, indexedPerS: rate });

describe('e2e ladder', () => {
  it('steps at fractions of the main rate, below it', () => {
    expect(ladderRates(10_000)).toEqual([2500, 5000, 7500]);
    expect(ladderRates(100, [0.25, 0.5, 1])).toEqual([]); // 25 rounds to 0; the main rate is not a step
  });
  it('the goal rate is the highest step within the goal, missing records failing a step', () => {
    const steps = [step(2500, 900), step(5000, 1400), step(7500, 1600), step(10_000, 1200, 3)];
    expect(steps.map((s) => meetsGoal(s, 1500))).toEqual([true, true, false, false]);
    expect(goalRate(steps, 1500)).toBe(5000);
    expect(goalRate([step(2500, 2000)], 1500)).toBe(0);
    const f = ladderFigures(steps, 1500);
    expect(f['e2e.ladder.7500_p99_ms']).toBe(1600);
    expect(f['e2e.ladder.10000_missing']).toBe(3);
    expect(f['e2e.goal_rate_per_s']).toBe(5000);
  });
});
