// One SLUICE_EVENTS message of DENIED events → the denial feed's notices: each event with why it
// was denied and the smallest policy change that would allow it (@sluice/policy-advice), on its
// workload's subject. Pure: the feed does the I/O. A bad line costs only itself, counted by reason.
import { subjects, type DenialAdvice, type DenialNotice } from '@sluice/contracts';
import { adviseDenial, unavailableAdvice } from '@sluice/policy-advice';
import type { PolicyView } from './current-policy.ts';
import { egressLines } from './egress-lines.ts';

export interface NoticeBatch {
  notices: Array<{ subject: string; notice: DenialNotice }>;
  /** Lines that were not valid events: reason → count (drops). */
  invalid: Map<string, number>;
  /** Valid events that were not denials (a mis-filtered consumer): not loss. */
  notDenied: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

export function denialNotices(text: string, view: PolicyView): NoticeBatch {
  const out: NoticeBatch = { notices: [], invalid: new Map(), notDenied: 0 };
  for (const e of egressLines(text, (why) => bump(out.invalid, why))) {
    if (e.verdict !== 'DENIED') {
      out.notDenied++;
      continue;
    }
    const advice = view.ok ? adviseDenial(view.current, e) : unavailableAdvice(e, view.error);
    const revision = view.ok ? view.current?.revision : undefined;
    out.notices.push({
      subject: subjects.denials(e.node, e.project ?? '', e.agent ?? ''),
      notice: { event: e, advice, ...(revision !== undefined ? { policy_revision: revision } : {}) },
    });
  }
  return out;
}

/** The metric label of a notice: `change`, or the no-change code. */
export const adviceLabel = (a: DenialAdvice): string => (a.change ? 'change' : (a.no_change?.code ?? 'none'));
