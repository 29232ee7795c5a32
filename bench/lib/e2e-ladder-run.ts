// Runs the rate ladder's bursts against the live pipeline (the figures: e2e-ladder.ts).
import { waitFor } from '@sluice/testkit';
import type { LadderStep } from './e2e-ladder.ts';
import { percentile } from './stats.ts';
import type { VisibilityWatch } from './visibility.ts';

/**
 * The ladder's steps (e2e-ladder.ts): a `seconds`-long burst at each rate, each once the one before
 * is searchable. The watch (stopped after the main burst) polls again for them, from where it was.
 */
export async function runLadder(watch: VisibilityWatch, rates: readonly number[], seconds: number, burst: (n: number, rate: number) => Promise<unknown>): Promise<LadderStep[]> {
  const steps: LadderStep[] = [];
  watch.start();
  try {
    for (const rate of rates) {
      const n = rate * seconds;
      const seen0 = watch.seen;
      const from = Date.now();
      await burst(n, rate);
      await waitFor(`ladder step ${rate}/s searchable`, async () => (watch.seen >= seen0 + n ? true : undefined), 60_000).catch(() => undefined);
      const docs = [...watch.latencies.values()].filter((d) => d.tsMs >= from - 5);
      const latencies = docs.map((d) => d.latencyMs).filter((x) => Number.isFinite(x));
      let first = Infinity;
      let last = -Infinity;
      for (const d of docs) {
        first = Math.min(first, d.tsMs);
        last = Math.max(last, d.tsMs + d.latencyMs);
      }
      steps.push({ rate, latencies, missing: n - docs.length, indexedPerS: docs.length / ((last - first) / 1000) });
      process.stderr.write(
        `e2e bench: ladder ${rate}/s: ${docs.length} of ${n} searchable` +
          (latencies.length > 0 ? `, p50 ${percentile(latencies, 50)} ms p99 ${percentile(latencies, 99)} ms\n` : '\n'),
      );
    }
  } finally {
    await watch.stop(false);
  }
  return steps;
}
