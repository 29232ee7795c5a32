// Advice for the denial feed, computed once per distinct attempt and policy view. A denial storm
// is one workload hitting one destination thousands of times a second; each fresh advice costs a
// policy compile, a replay and a YAML render (~0.4 ms), so computing it per event made the feed
// the learner's main CPU cost. The key is every field the advice reads (@sluice/policy-advice
// adviceKey); a new policy view (fetched, invalidated by an apply) starts an empty memo. Pure.
import type { DenialAdvice, EgressEvent } from '@sluice/contracts';
import { adviceKey, adviseDenial, sameAdviceFields, unavailableAdvice } from '@sluice/policy-advice';
import type { PolicyView } from './current-policy.ts';

export const DEFAULT_MEMO_ENTRIES = 4096;

/** An advice and its JSON as UTF-8 (notices embed it as is: serialised once, not per event). */
export interface MemoAdvice {
  advice: DenialAdvice;
  bytes: Buffer;
}

export class AdviceMemo {
  private view: PolicyView | undefined;
  private readonly memo = new Map<string, MemoAdvice>();
  /** The last event advised and its advice: a storm's next event usually agrees with it. */
  private last: { event: EgressEvent; entry: MemoAdvice } | undefined;
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = DEFAULT_MEMO_ENTRIES) {}

  /** The advice for `e` under `view`; callers must not mutate it (it is shared by equal attempts). */
  advise(view: PolicyView, e: EgressEvent): MemoAdvice {
    if (view !== this.view) {
      this.memo.clear();
      this.last = undefined;
      this.view = view;
    }
    if (this.last && sameAdviceFields(this.last.event, e)) {
      this.hits++;
      return this.last.entry;
    }
    const key = adviceKey(e);
    const known = this.memo.get(key);
    if (known) {
      this.hits++;
      this.last = { event: e, entry: known };
      return known;
    }
    this.misses++;
    const advice = view.ok ? adviseDenial(view.current, e) : unavailableAdvice(e, view.error);
    const entry = { advice, bytes: Buffer.from(JSON.stringify(advice)) };
    // Bounded: a scan of many destinations starts over rather than growing without end.
    if (this.memo.size >= this.maxEntries) this.memo.clear();
    this.memo.set(key, entry);
    this.last = { event: e, entry };
    return entry;
  }
}
