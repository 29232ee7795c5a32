// Every loss, wherever it happens, goes through here: the Prometheus pair from stageCounters
// (sluice_events_dropped_total{stage,reason}) and the periodic sluice.drops.<node> notification
// with the interval's nonzero deltas (P15).
import type { DropNotification } from '@sluice/contracts';

type Stage = DropNotification['stage'];

export class DropLedger {
  private readonly totals = new Map<Stage, Map<string, number>>();
  private readonly reported = new Map<Stage, Map<string, number>>();

  constructor(private readonly onDrop: (stage: Stage, reason: string, n: number) => void = () => {}) {}

  drop(stage: Stage, reason: string, n = 1): void {
    if (n <= 0) return;
    let m = this.totals.get(stage);
    if (!m) this.totals.set(stage, (m = new Map()));
    m.set(reason, (m.get(reason) ?? 0) + n);
    this.onDrop(stage, reason, n);
  }

  total(stage: Stage, reason?: string): number {
    const m = this.totals.get(stage);
    if (!m) return 0;
    if (reason !== undefined) return m.get(reason) ?? 0;
    let n = 0;
    for (const v of m.values()) n += v;
    return n;
  }

  /** One notification per stage that dropped anything since the last call. */
  takeNotifications(node: string, intervalS: number, now: Date): DropNotification[] {
    const out: DropNotification[] = [];
    for (const [stage, m] of this.totals) {
      let seen = this.reported.get(stage);
      if (!seen) this.reported.set(stage, (seen = new Map()));
      const drops: Record<string, number> = {};
      for (const [reason, n] of m) {
        const d = n - (seen.get(reason) ?? 0);
        if (d > 0) drops[reason] = d;
        seen.set(reason, n);
      }
      if (Object.keys(drops).length === 0) continue;
      out.push({ time: now.toISOString(), node, stage, interval_s: intervalS, drops, totals: Object.fromEntries(m) });
    }
    return out;
  }
}
