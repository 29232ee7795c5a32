// Small statistics for benchmark figures.

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; throws on an empty one. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of an empty sample');
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
