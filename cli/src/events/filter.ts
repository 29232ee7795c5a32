// Event filters shared by `sluice tail`, `sluice events` (live, NDJSON store, OpenSearch) and any
// command that selects egress events. Pure: a filter is built once from flags (or in code with
// buildFilter), then applied to each event.
//
// Semantics, as `hubble observe` has them, made explicit:
//   - several values of one flag are OR'd: `--agent a --agent b` keeps a's and b's events;
//   - different flags are AND'd: `--agent a --verdict DENIED` keeps a's denials;
//   - `--not` negates the one filter flag that follows it, and every negated value excludes on its
//     own: `--not --agent a --not --port 53` drops a's events and every port-53 event;
//   - an event without the field (no agent: unattributed; no dst_host: a direct-IP connect) never
//     matches a positive value and is never excluded by a negated one;
//   - `--since` / `--until` bound the event time, both inclusive.
import type { EgressEvent, Verdict } from '@sluice/contracts';
import { MatchReason, VERDICTS } from '@sluice/contracts';
import { UsageError } from '../command.ts';

/** The filter flags, in the order usage lists them. */
export const FILTER_FIELDS = ['project', 'agent', 'verdict', 'host', 'port', 'proto', 'rule', 'reason', 'container', 'node'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** l4_proto values the attributor writes; any other protocol appears as its number. */
export const PROTOS = ['tcp', 'udp', 'icmp', 'icmpv6', 'raw', 'none'] as const;

/** One value of one filter flag, parsed. */
export type Term =
  | { field: 'project' | 'agent' | 'node'; value: string }
  | { field: 'verdict'; value: Verdict }
  | { field: 'reason'; value: MatchReason }
  /** Lower-case name or the protocol number as text. */
  | { field: 'proto'; value: string }
  /** Container id prefix (any case) or exact container name (a leading `/` optional). */
  | { field: 'container'; value: string }
  /** `*` any run of characters within one label, `**` anything; matched against dst_host and dst_ip. */
  | { field: 'host'; glob: string; re: RegExp }
  /** Inclusive range; a single port has lo === hi. */
  | { field: 'port'; lo: number; hi: number }
  | { field: 'rule'; id: number };

export interface EventFilter {
  /** Wanted values: within a field any may match (OR); every field present must match (AND). */
  include: Term[];
  /** Unwanted values: an event matching any of them is dropped. */
  exclude: Term[];
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, inclusive. */
  until?: number;
}

export const EMPTY_FILTER: EventFilter = Object.freeze({ include: [], exclude: [] }) as EventFilter;

const flag = (field: string) => `--${field}`;
const bad = (field: string, raw: string, expected: string) =>
  new UsageError(`${flag(field)} ${JSON.stringify(raw)}: expected ${expected}`);

export function hostGlob(glob: string): RegExp {
  const re = glob
    .toLowerCase()
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*'))
    .join('.*');
  return new RegExp(`^${re}$`);
}

function wholeNumber(field: string, raw: string, max: number, expected: string): number {
  if (!/^\d{1,10}$/.test(raw)) throw bad(field, raw, expected);
  const n = Number(raw);
  if (n > max) throw bad(field, raw, expected);
  return n;
}

/** Parse one value of a filter flag; a bad value is refused naming the flag. */
export function parseTerm(field: FilterField, raw: string): Term {
  if (raw === '') throw bad(field, raw, 'a value (it is empty)');
  switch (field) {
    case 'project':
    case 'agent':
    case 'node':
      return { field, value: raw };
    case 'verdict': {
      const v = raw.toUpperCase();
      if (!(VERDICTS as readonly string[]).includes(v)) throw bad(field, raw, `one of ${VERDICTS.join(', ')}`);
      return { field, value: v as Verdict };
    }
    case 'reason': {
      const r = MatchReason.safeParse(raw.toLowerCase());
      if (!r.success) throw bad(field, raw, `one of ${MatchReason.options.join(', ')}`);
      return { field, value: r.data };
    }
    case 'proto': {
      const p = raw.toLowerCase();
      if ((PROTOS as readonly string[]).includes(p)) return { field, value: p };
      return { field, value: String(wholeNumber(field, raw, 255, `one of ${PROTOS.join(', ')} or a protocol number 0-255`)) };
    }
    case 'container':
      return { field, value: raw };
    case 'host':
      if (/\s/.test(raw)) throw bad(field, raw, 'a host name, IP or glob without spaces');
      return { field, glob: raw, re: hostGlob(raw) };
    case 'port': {
      const expected = 'a port 0-65535 or a range like 8000-8100';
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw);
      if (!m) throw bad(field, raw, expected);
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      if (lo > 65535 || hi > 65535 || lo > hi) throw bad(field, raw, expected);
      return { field, lo, hi };
    }
    case 'rule':
      return { field, id: wholeNumber(field, raw, 0xffff_ffff, 'a rule id (a whole number, as events carry it in rule_id)') };
  }
}

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

/**
 * A time flag: a duration before `now` ("30s", "15m", "1h30m", "2d") or an ISO time
 * ("2026-11-23", "2026-11-23T12:00:00Z"; without a zone: local time). Throws naming `name`.
 */
export function parseTime(name: string, value: string, now = Date.now()): number {
  if (DURATION.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * UNIT_MS[unit!]!;
    return now - ms;
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw new UsageError(`${name} ${JSON.stringify(value)}: expected a duration like 15m/2h/1h30m/3d or an ISO time like 2026-11-23T12:00:00Z`);
  }
  return t;
}

/** `--since` (kept for replay and policy test, which read times the same way). */
export const parseSince = (value: string, now = Date.now()): number => parseTime('--since', value, now);

export interface FilterSpec {
  include?: Partial<Record<FilterField, string[]>>;
  exclude?: Partial<Record<FilterField, string[]>>;
  since?: string;
  until?: string;
}

/**
 * A filter from flag values, for commands that select events in code (`sluice why`) or through
 * their own flags. Throws a UsageError naming the flag of the first bad value.
 */
export function buildFilter(spec: FilterSpec, now = Date.now()): EventFilter {
  const terms = (m: FilterSpec['include']) =>
    FILTER_FIELDS.flatMap((field) => (m?.[field] ?? []).map((raw) => parseTerm(field, raw)));
  const f: EventFilter = { include: terms(spec.include), exclude: terms(spec.exclude) };
  if (spec.since !== undefined) f.since = parseTime('--since', spec.since, now);
  if (spec.until !== undefined) f.until = parseTime('--until', spec.until, now);
  checkWindow(f);
  return f;
}

export function checkWindow(f: EventFilter): void {
  if (f.since !== undefined && f.until !== undefined && f.since > f.until) {
    throw new UsageError(`--since ${new Date(f.since).toISOString()} is after --until ${new Date(f.until).toISOString()}`);
  }
}

function containerMatches(value: string, e: EgressEvent): boolean {
  if (e.container_id !== undefined && e.container_id.toLowerCase().startsWith(value.toLowerCase())) return true;
  if (e.container_name === undefined) return false;
  return e.container_name === value || e.container_name.replace(/^\//, '') === value.replace(/^\//, '');
}

export function termMatches(t: Term, e: EgressEvent): boolean {
  switch (t.field) {
    case 'project':
      return e.project === t.value;
    case 'agent':
      return e.agent === t.value;
    case 'node':
      return e.node === t.value;
    case 'verdict':
      return e.verdict === t.value;
    case 'reason':
      return e.reason === t.value;
    case 'proto':
      return e.l4_proto.toLowerCase() === t.value;
    case 'container':
      return containerMatches(t.value, e);
    case 'host':
      return (e.dst_host !== undefined && t.re.test(e.dst_host.toLowerCase())) || t.re.test(e.dst_ip.toLowerCase());
    case 'port':
      return e.dst_port >= t.lo && e.dst_port <= t.hi;
    case 'rule':
      return e.rule_id === t.id;
  }
}

/** The include terms grouped by field, in FILTER_FIELDS order. */
export function byField(terms: readonly Term[]): Map<FilterField, Term[]> {
  const m = new Map<FilterField, Term[]>();
  for (const field of FILTER_FIELDS) {
    const list = terms.filter((t) => t.field === field);
    if (list.length > 0) m.set(field, list);
  }
  return m;
}

/** A matcher with the include terms grouped once, for the per-event path. */
export function compileFilter(f: EventFilter): (e: EgressEvent) => boolean {
  const groups = [...byField(f.include).values()];
  const exclude = f.exclude;
  return (e) => {
    if (f.since !== undefined || f.until !== undefined) {
      const t = Date.parse(e.time);
      if (f.since !== undefined && t < f.since) return false;
      if (f.until !== undefined && t > f.until) return false;
    }
    for (const g of groups) if (!g.some((t) => termMatches(t, e))) return false;
    for (const t of exclude) if (termMatches(t, e)) return false;
    return true;
  };
}

export const matches = (f: EventFilter, e: EgressEvent): boolean => compileFilter(f)(e);

/** The flag form of a term's value, for messages and the server-side translations. */
export function termText(t: Term): string {
  switch (t.field) {
    case 'host':
      return t.glob;
    case 'port':
      return t.lo === t.hi ? String(t.lo) : `${t.lo}-${t.hi}`;
    case 'rule':
      return String(t.id);
    default:
      return t.value;
  }
}
