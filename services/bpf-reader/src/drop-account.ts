// A node's drop account, pure: what the reader has noticed so far (per stage and reason, since
// boot), the kernel counter values those notices covered, and the notices written but not yet
// acknowledged by JetStream. The wiring persists each state *before* publishing its notices
// (write-ahead), so whichever moment the reader dies:
//   - before the write: the deltas were never noticed; the next reader counts them again from the
//     old kernel baseline (reader-stage drops of that interval are the one thing still lost),
//   - after it: the next reader re-publishes the pending notices with their ids (JetStream's
//     duplicate window and the sink's document _id make that one document) and resumes from the
//     new kernel baseline.
import { dropNotice, type DropAccountState, type DropNotice, type DropNotification } from '@sluice/contracts';
import { fitCounters } from './kernel-counters.ts';

export interface RoundDrops {
  stage: DropNotification['stage'];
  reason: string;
  count: number;
}

export class DropAccount {
  private s: DropAccountState;
  private intervalStart: string;
  private readonly sameBoot: boolean;

  /**
   * `loaded`: the node's persisted state, if any. `bootStart`: when this boot began, the start of
   * the first interval of a boot never seen (its kernel drops happened since then).
   */
  constructor(
    private readonly node: string,
    private readonly bootId: string,
    loaded: DropAccountState | undefined,
    bootStart: Date,
    private readonly actor = 'bpf-reader',
  ) {
    this.sameBoot = loaded !== undefined && loaded.node === node && loaded.boot_id === bootId;
    if (this.sameBoot) {
      this.s = loaded!;
      this.intervalStart = loaded!.updated_at;
    } else {
      // A new boot: counters start from zero; notices of the old boot still pending stay pending.
      this.intervalStart = bootStart.toISOString();
      this.s = {
        node,
        boot_id: bootId,
        kernel: [],
        round: loaded?.round ?? 0,
        totals: {},
        pending: loaded?.node === node ? loaded.pending : [],
        updated_at: this.intervalStart,
      };
    }
  }

  get state(): DropAccountState {
    return this.s;
  }

  get pending(): readonly DropNotice[] {
    return this.s.pending;
  }

  /** Where the kernel counters resume: as last noticed this boot, or zero for a boot never seen. */
  kernelBaseline(): number[] {
    return this.sameBoot ? fitCounters(this.s.kernel) : fitCounters([]);
  }

  /**
   * Close the interval ending `now`: one notice per stage and reason that lost records, appended
   * to the pending ones. Returns the state to persist, or undefined when nothing changed.
   */
  round(drops: RoundDrops[], kernel: readonly number[] | undefined, now: Date): DropAccountState | undefined {
    const lost = drops.filter((d) => d.count > 0);
    const k = kernel ? fitCounters(kernel) : this.s.kernel;
    const kernelMoved = k.length !== this.s.kernel.length || k.some((v, i) => v !== this.s.kernel[i]);
    if (lost.length === 0 && !kernelMoved) return undefined;
    const end = now.toISOString();
    const totals = { ...this.s.totals };
    const round = lost.length > 0 ? this.s.round + 1 : this.s.round;
    const notices = lost.map((d) => {
      const key = `${d.stage}/${d.reason}`;
      totals[key] = (totals[key] ?? 0) + d.count;
      return dropNotice(this.actor, {
        node: this.node,
        boot_id: this.bootId,
        stage: d.stage,
        drop_reason: d.reason,
        count: d.count,
        total: totals[key]!,
        interval_start: this.intervalStart,
        interval_end: end,
        round,
      });
    });
    this.s = { ...this.s, kernel: k, round, totals, pending: [...this.s.pending, ...notices], updated_at: end };
    this.intervalStart = end;
    return this.s;
  }

  /** JetStream holds these notices: they leave the pending list (the caller persists the result). */
  acknowledged(ids: ReadonlySet<string>): DropAccountState {
    this.s = { ...this.s, pending: this.s.pending.filter((n) => !ids.has(n.id)) };
    return this.s;
  }
}

/** The ledger's per-stage notifications flattened into per-reason drops. */
export function roundDrops(notes: readonly DropNotification[]): RoundDrops[] {
  return notes.flatMap((n) => Object.entries(n.drops).map(([reason, count]) => ({ stage: n.stage, reason, count })));
}
