// One SLUICE_EVENTS message of DENIED events → the denial feed's notices: each event with why it
// was denied and the smallest policy change that would allow it (@sluice/policy-advice), on its
// workload's subject. Pure: the feed does the I/O. A bad line costs only itself, counted by reason.
import { subjects, type DenialAdvice, type DenialNotice } from '@sluice/contracts';
import { AdviceMemo } from './advice-memo.ts';
import type { PolicyView } from './current-policy.ts';
import { batchBytes, egressLinesIn } from './egress-lines.ts';

export interface NoticeBatch {
  /** `payload` is `notice` as JSON (UTF-8), what the feed publishes. */
  notices: Array<{ subject: string; notice: DenialNotice; payload: Uint8Array }>;
  /** Lines that were not valid events: reason → count (drops). */
  invalid: Map<string, number>;
  /** Valid events that were not denials (a mis-filtered consumer): not loss. */
  notDenied: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const OPEN = Buffer.from('{"event":');
const ADVICE = Buffer.from(',"advice":');

/** `memo`: the feed keeps one across messages, so a repeated attempt is advised once per policy view. */
export function denialNotices(payload: string | Uint8Array, view: PolicyView, memo: AdviceMemo = new AdviceMemo()): NoticeBatch {
  const out: NoticeBatch = { notices: [], invalid: new Map(), notDenied: 0 };
  const revision = view.ok ? view.current?.revision : undefined;
  const tail = Buffer.from(revision !== undefined ? `,"policy_revision":${revision}}` : '}');
  const bytes = batchBytes(payload);
  // A message is mostly one workload's events: its subject is encoded once per batch. The key is
  // length-prefixed, so no two (node, project, agent) triples share one whatever their characters.
  const subjectOf = new Map<string, string>();
  // Each notice is JSON.stringify(notice), written as bytes: the event as it came when its line
  // was exactly its JSON (copied from the message), the advice serialised once per distinct
  // attempt. All of a message's notices share one buffer: one allocation, no string per notice.
  const parts: Array<{ subject: string; notice: DenialNotice; start: number; end: number; event: Buffer | undefined; advice: Buffer }> = [];
  let size = 0;
  for (const { event: e, start, end } of egressLinesIn(bytes, (why) => bump(out.invalid, why))) {
    if (e.verdict !== 'DENIED') {
      out.notDenied++;
      continue;
    }
    const { advice, bytes: adviceBytes } = memo.advise(view, e);
    const project = e.project ?? '';
    const agent = e.agent ?? '';
    const who = `${e.node.length}:${e.node}${project.length}:${project}${agent}`;
    let subject = subjectOf.get(who);
    if (subject === undefined) subjectOf.set(who, (subject = subjects.denials(e.node, project, agent)));
    const event = start < 0 ? Buffer.from(JSON.stringify(e)) : undefined;
    size += OPEN.length + (event ? event.length : end - start) + ADVICE.length + adviceBytes.length + tail.length;
    parts.push({ subject, notice: { event: e, advice, ...(revision !== undefined ? { policy_revision: revision } : {}) }, start, end, event, advice: adviceBytes });
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  for (const p of parts) {
    const from = o;
    o += OPEN.copy(buf, o);
    o += p.event ? p.event.copy(buf, o) : bytes.copy(buf, o, p.start, p.end);
    o += ADVICE.copy(buf, o);
    o += p.advice.copy(buf, o);
    o += tail.copy(buf, o);
    out.notices.push({ subject: p.subject, notice: p.notice, payload: buf.subarray(from, o) });
  }
  return out;
}

/** The metric label of a notice: `change`, or the no-change code. */
export const adviceLabel = (a: DenialAdvice): string => (a.change ? 'change' : (a.no_change?.code ?? 'none'));
