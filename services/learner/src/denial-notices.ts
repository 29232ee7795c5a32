// One SLUICE_EVENTS message of DENIED events → the denial feed's notices: each event with why it
// was denied and the smallest policy change that would allow it (@sluice/policy-advice), on its
// workload's subject. Pure: the feed does the I/O. A bad line costs only itself, counted by reason.
import { subjects, type DenialAdvice, type DenialNotice } from '@sluice/contracts';
import { AdviceMemo } from './advice-memo.ts';
import type { PolicyView } from './current-policy.ts';
import { egressLinesWithJson } from './egress-lines.ts';

export interface NoticeBatch {
  /** `payload` is `notice` as JSON, what the feed publishes. */
  notices: Array<{ subject: string; notice: DenialNotice; payload: string }>;
  /** Lines that were not valid events: reason → count (drops). */
  invalid: Map<string, number>;
  /** Valid events that were not denials (a mis-filtered consumer): not loss. */
  notDenied: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** `memo`: the feed keeps one across messages, so a repeated attempt is advised once per policy view. */
export function denialNotices(text: string, view: PolicyView, memo: AdviceMemo = new AdviceMemo()): NoticeBatch {
  const out: NoticeBatch = { notices: [], invalid: new Map(), notDenied: 0 };
  const revision = view.ok ? view.current?.revision : undefined;
  const tail = revision !== undefined ? `,"policy_revision":${revision}}` : '}';
  // A message is mostly one workload's events: its subject is encoded once per batch. The key is
  // length-prefixed, so no two (node, project, agent) triples share one whatever their characters.
  const subjectOf = new Map<string, string>();
  for (const { event: e, json: line } of egressLinesWithJson(text, (why) => bump(out.invalid, why))) {
    if (e.verdict !== 'DENIED') {
      out.notDenied++;
      continue;
    }
    const { advice, json } = memo.advise(view, e);
    const project = e.project ?? '';
    const agent = e.agent ?? '';
    const who = `${e.node.length}:${e.node}${project.length}:${project}${agent}`;
    let subject = subjectOf.get(who);
    if (subject === undefined) subjectOf.set(who, (subject = subjects.denials(e.node, project, agent)));
    out.notices.push({
      subject,
      notice: { event: e, advice, ...(revision !== undefined ? { policy_revision: revision } : {}) },
      // JSON.stringify(notice), with the advice serialised once per distinct attempt and the event
      // as it came when the line was exactly its JSON.
      payload: `{"event":${line ?? JSON.stringify(e)},"advice":${json}${tail}`,
    });
  }
  return out;
}

/** The metric label of a notice: `change`, or the no-change code. */
export const adviceLabel = (a: DenialAdvice): string => (a.change ? 'change' : (a.no_change?.code ?? 'none'));
