// The part of a filter NATS can apply server-side: the event subject carries project, agent and
// verdict (sluice.events.<project>.<agent>.<verdict>), so wanted values of those three narrow the
// consumer; everything else (negations included: a subject filter cannot say "not") is matched
// client-side by the same filter. The subjects are always a superset of what the filter keeps.
import { subjects, type Verdict } from '@sluice/contracts';
import { byField, type EventFilter } from './filter.ts';

/** Most subjects one consumer gets before a field widens to `*` (nats-server ≥ 2.10 takes several). */
export const MAX_SUBJECTS = 32;

/**
 * Subject filters for SLUICE_EVENTS. `multi`: the server accepts several filter subjects on one
 * consumer (nats-server 2.10+); without it a field with several values widens to `*`.
 */
export function eventSubjects(f: EventFilter, multi: boolean): string[] {
  const groups = byField(f.include);
  const values = (field: 'project' | 'agent' | 'verdict'): string[] | undefined => {
    const list = groups.get(field);
    if (list === undefined) return undefined;
    const vs = [...new Set(list.map((t) => ('value' in t ? t.value : '')))];
    return vs.length === 1 || multi ? vs : undefined;
  };
  let project = values('project');
  let agent = values('agent');
  let verdict = values('verdict');
  const size = () => (project?.length ?? 1) * (agent?.length ?? 1) * (verdict?.length ?? 1);
  while (size() > MAX_SUBJECTS) {
    // Widen the field with the most values first: it costs the least selectivity per subject saved.
    const widest = [project, agent, verdict].reduce((a, b) => ((b?.length ?? 0) > (a?.length ?? 0) ? b : a));
    if (widest === project) project = undefined;
    else if (widest === agent) agent = undefined;
    else verdict = undefined;
  }
  const out: string[] = [];
  for (const p of project ?? [undefined])
    for (const a of agent ?? [undefined])
      for (const v of verdict ?? [undefined])
        out.push(
          subjects.eventsFilter({
            ...(p !== undefined ? { project: p } : {}),
            ...(a !== undefined ? { agent: a } : {}),
            ...(v !== undefined ? { verdict: v as Verdict } : {}),
          }),
        );
  return out;
}

/** nats-server 2.10 introduced several filter subjects per consumer. */
export function serverTakesManyFilters(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 10);
}
