// A filter as an OpenSearch bool query over clawker-egress documents (event fields live under
// `attributes.`). Wanted values become `filter` clauses that select a superset of what the filter
// keeps; an unwanted value becomes a `must_not` only where the translation is exact. The caller
// still runs the same client-side matcher over every hit, so a clause that cannot be expressed
// (a host glob that could match an IP, a label longer than the keyword index keeps) is left out,
// never approximated in the narrowing direction.
import { byField, type EventFilter, type Term } from './filter.ts';

type Clause = Record<string, unknown>;

/** Keyword fields index values up to this many characters (templates.ts: ignore_above 1024). */
const KEYWORD_MAX = 1024;

const KEYWORD: Record<string, string> = {
  project: 'attributes.project',
  agent: 'attributes.agent',
  node: 'attributes.node',
  verdict: 'attributes.verdict',
  reason: 'attributes.reason',
  proto: 'attributes.l4_proto',
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const looksLikeIp = (s: string) => (IPV4.test(s) && s.split('.').every((o) => Number(o) <= 255)) || (s.includes(':') && /^[0-9a-f:.]+$/i.test(s));

/** OpenSearch wildcard syntax: `*` any characters (dots too: wider than the glob), `?` and `\` escaped. */
const wildcard = (glob: string) => glob.toLowerCase().replace(/[?\\]/g, '\\$&').replace(/\*+/g, '*');

/** The clause selecting (a superset of) the events one term matches; undefined: not expressible. */
function clauseOf(t: Term): { clause: Clause; exact: boolean } | undefined {
  switch (t.field) {
    case 'project':
    case 'agent':
    case 'node':
    case 'verdict':
    case 'reason':
    case 'proto':
      if (t.value.length > KEYWORD_MAX) return undefined;
      return { clause: { term: { [KEYWORD[t.field]!]: t.value } }, exact: true };
    case 'container': {
      if (t.value.length > KEYWORD_MAX) return undefined;
      const bare = t.value.replace(/^\//, '');
      return {
        clause: {
          bool: {
            should: [
              { prefix: { 'attributes.container_id': { value: t.value, case_insensitive: true } } },
              { terms: { 'attributes.container_name': [bare, `/${bare}`] } },
            ],
            minimum_should_match: 1,
          },
        },
        exact: true,
      };
    }
    case 'host': {
      const g = t.glob.toLowerCase();
      // An IP-shaped glob with a wildcard ("10.0.0.*") matches addresses the ip field cannot wildcard.
      if (/^[0-9a-f.:*]+$/.test(g) && g.includes('*')) return undefined;
      const name = { wildcard: { 'attributes.dst_host': { value: wildcard(g), case_insensitive: true } } };
      const should: Clause[] = [name];
      if (looksLikeIp(g)) should.push({ term: { 'attributes.dst_ip': g } });
      return { clause: { bool: { should, minimum_should_match: 1 } }, exact: false };
    }
    case 'port':
      return { clause: { range: { 'attributes.dst_port': { gte: t.lo, lte: t.hi } } }, exact: true };
    case 'rule':
      return { clause: { term: { 'attributes.rule_id': t.id } }, exact: true };
  }
}

export function opensearchQuery(f: EventFilter): { bool: { filter: Clause[]; must_not: Clause[] } } {
  const filter: Clause[] = [];
  if (f.since !== undefined || f.until !== undefined) {
    filter.push({
      range: {
        '@timestamp': {
          ...(f.since !== undefined ? { gte: f.since } : {}),
          ...(f.until !== undefined ? { lte: f.until } : {}),
          format: 'epoch_millis',
        },
      },
    });
  }
  for (const terms of byField(f.include).values()) {
    const clauses = terms.map(clauseOf);
    // One value that cannot be expressed leaves the whole field to the client: OR needs them all.
    if (clauses.some((c) => c === undefined)) continue;
    const list = clauses.map((c) => c!.clause);
    filter.push(list.length === 1 ? list[0]! : { bool: { should: list, minimum_should_match: 1 } });
  }
  const mustNot: Clause[] = [];
  for (const t of f.exclude) {
    const c = clauseOf(t);
    if (c?.exact) mustNot.push(c.clause);
  }
  return { bool: { filter, must_not: mustNot } };
}

/** Time order, ties broken by the event id so search_after pages never skip or repeat. */
export const OPENSEARCH_SORT = [{ '@timestamp': 'asc' }, { 'attributes.id': 'asc' }] as const;
