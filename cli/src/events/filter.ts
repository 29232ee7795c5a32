// Event filters shared by `sluice tail` (live and from files) and `sluice replay`. Pure: a filter
// is parsed once from CLI flags, then applied to each event.
import type { EgressEvent, Verdict } from '@sluice/contracts';
import { VERDICTS, subjects } from '@sluice/contracts';
import { UsageError } from '../command.ts';

export interface EventFilter {
  project?: string;
  agent?: string;
  verdict?: Verdict;
  /** Glob over dst_host: `*` any run of characters except `.`, `**` anything. */
  host?: RegExp;
  port?: number;
  /** Epoch ms; events before it are skipped. */
  since?: number;
}

export interface FilterFlags {
  project?: string;
  agent?: string;
  verdict?: string;
  host?: string;
  port?: string;
  since?: string;
}

export function hostGlob(glob: string): RegExp {
  const re = glob
    .toLowerCase()
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*'))
    .join('.*');
  return new RegExp(`^${re}$`);
}

/** "15m", "2h", "3d", "30s" before `now`, or an ISO timestamp. */
export function parseSince(value: string, now = Date.now()): number {
  const rel = /^(\d+)(s|m|h|d)$/.exec(value);
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--since ${JSON.stringify(value)}: expected a duration like 15m/2h/3d or an ISO time`);
  return t;
}

export function parseFilter(f: FilterFlags, now = Date.now()): EventFilter {
  const out: EventFilter = {};
  if (f.project !== undefined) out.project = f.project;
  if (f.agent !== undefined) out.agent = f.agent;
  if (f.verdict !== undefined) {
    const v = f.verdict.toUpperCase();
    if (!(VERDICTS as readonly string[]).includes(v)) {
      throw new UsageError(`--verdict ${JSON.stringify(f.verdict)}: expected one of ${VERDICTS.join(', ')}`);
    }
    out.verdict = v as Verdict;
  }
  if (f.host !== undefined) out.host = hostGlob(f.host);
  if (f.port !== undefined) {
    const p = Number(f.port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError(`--port ${JSON.stringify(f.port)}: expected 0-65535`);
    out.port = p;
  }
  if (f.since !== undefined) out.since = parseSince(f.since, now);
  return out;
}

export function matches(f: EventFilter, e: EgressEvent): boolean {
  if (f.project !== undefined && e.project !== f.project) return false;
  if (f.agent !== undefined && e.agent !== f.agent) return false;
  if (f.verdict !== undefined && e.verdict !== f.verdict) return false;
  if (f.port !== undefined && e.dst_port !== f.port) return false;
  if (f.host !== undefined && !f.host.test((e.dst_host ?? '').toLowerCase())) return false;
  if (f.since !== undefined && Date.parse(e.time) < f.since) return false;
  return true;
}

/** The narrowest subject filter NATS can apply server-side; the rest is filtered here. */
export function subjectFor(f: EventFilter): string {
  const s: { project?: string; agent?: string; verdict?: Verdict } = {};
  if (f.project !== undefined) s.project = f.project;
  if (f.agent !== undefined) s.agent = f.agent;
  if (f.verdict !== undefined) s.verdict = f.verdict;
  return subjects.eventsFilter(s);
}
