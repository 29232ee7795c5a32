// The rate ladder: after the main burst, shorter bursts at fractions of its rate, each with its
// own latency percentiles. On a 2-core machine that also runs OpenSearch, the goal at 10k/s can
// fail for want of CPU while the pipeline's own waits are small; the ladder shows the highest
// offered rate at which the goal holds on this machine, and how latency grows towards saturation.
//   e2e.ladder.<rate>_p50_ms / _p99_ms / _indexed_per_s   per step (rate: offered records/s)
//   e2e.goal_rate_per_s    the highest step (the main burst included) whose p99 met e2e.goal_ms,
//                          0 when none did
import { percentile } from './stats.ts';

export interface LadderStep {
  rate: number;
  /** searchable − kernel time per document of the step, ms. */
  latencies: number[];
  /** Documents of the step that never became searchable within the wait. */
  missing: number;
  indexedPerS: number;
}

/** Step rates: fractions of the main rate, rounded to hundreds, ascending, without the main rate. */
export function ladderRates(main: number, fractions: readonly number[] = [0.25, 0.5, 0.75]): number[] {
  return [...new Set(fractions.map((f) => Math.round((main * f) / 100) * 100).filter((r) => r > 0 && r < main))].sort((a, b) => a - b);
}

/** A step meets the goal when every record became searchable and its p99 is within the goal. */
export function meetsGoal(s: LadderStep, goalMs: number): boolean {
  return s.missing === 0 && s.latencies.length > 0 && percentile(s.latencies, 99) <= goalMs;
}

/** The highest rate whose step met the goal (0: none). Steps above a failing one still count. */
export function goalRate(steps: readonly LadderStep[], goalMs: number): number {
  return steps.filter((s) => meetsGoal(s, goalMs)).reduce((m, s) => Math.max(m, s.rate), 0);
}

export function ladderFigures(steps: readonly LadderStep[], goalMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of steps) {
    if (s.latencies.length === 0) continue;
    out[`e2e.ladder.${s.rate}_p50_ms`] = percentile(s.latencies, 50);
    out[`e2e.ladder.${s.rate}_p99_ms`] = percentile(s.latencies, 99);
    out[`e2e.ladder.${s.rate}_indexed_per_s`] = Math.round(s.indexedPerS);
    if (s.missing > 0) out[`e2e.ladder.${s.rate}_missing`] = s.missing;
  }
  out['e2e.goal_rate_per_s'] = goalRate(steps, goalMs);
  return out;
}
