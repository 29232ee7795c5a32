// One SLUICE_EVENTS message → the observations each live session should record. Pure: the
// consumer does the I/O. A bad line costs only itself (counted by reason), never the batch.
import { eventSubjectTokens } from '@sluice/contracts';
import { egressLines } from './egress-lines.ts';
import { observe, type Observation, type SkipReason } from './observation.ts';
import { sessionIdsFor } from './session.ts';

export interface ParsedBatch {
  /** session id → observations, in batch order. */
  bySession: Map<string, Observation[]>;
  /** Lines that were not valid events: reason → count (these are drops). */
  invalid: Map<string, number>;
  /** Valid events that teach nothing: reason → count (filtering, not loss). */
  skipped: Map<SkipReason | 'other_agent', number>;
  events: number;
}

/** Subject tokens as they stand: a long label's token is bounded (hashed) and does not decode. */
export interface SubjectRoute {
  projectToken: string;
  agentToken: string;
}

/** The (project, agent) tokens an event subject names, or undefined for DNS and other subjects. */
export function routeOf(subject: string): SubjectRoute | undefined {
  try {
    const { project, agent } = eventSubjectTokens(subject);
    return { projectToken: project, agentToken: agent };
  } catch {
    return undefined;
  }
}

const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * Parse an NDJSON batch for the given live sessions. Events are assigned by their own labels, not
 * the subject's, so a mislabelled subject cannot put one project's traffic in another's session.
 */
export function parseBatch(payload: string | Uint8Array, live: ReadonlySet<string>): ParsedBatch {
  const out: ParsedBatch = { bySession: new Map(), invalid: new Map(), skipped: new Map(), events: 0 };
  for (const e of egressLines(payload, (why) => bump(out.invalid, why))) {
    out.events++;
    const sids = e.project === undefined ? [] : sessionIdsFor(e.project, e.agent ?? '').filter((s) => live.has(s));
    if (sids.length === 0) {
      bump(out.skipped, 'other_agent');
      continue;
    }
    const o = observe(e);
    if (typeof o === 'string') {
      bump(out.skipped, o);
      continue;
    }
    for (const sid of sids) {
      const list = out.bySession.get(sid) ?? [];
      list.push(o);
      out.bySession.set(sid, list);
    }
  }
  return out;
}
