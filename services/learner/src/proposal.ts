// What a learn session proposes: the allowlist diff against the current policy. Pure and
// deterministic — every list is sorted on a total order and nothing time- or run-dependent is
// rendered — so two runs over the same traffic give byte-identical YAML.
import {
  AllowRule as AllowRuleSchema,
  cidrContains,
  hostMatches,
  ipBytes,
  mappedCidr,
  type AllowRule,
  type Policy,
  type PolicyDocument,
  type PortRange,
} from '@sluice/contracts';
import { compareIp, governingPolicy, narrowestCidr, newPolicyName, ruleFor, type RuleProto } from '@sluice/policy-advice';
import { breadthFindings, isLoopbackAddress, learnedResolverFinding } from '@sluice/policy-lint';
import { getDomain } from 'tldts';
import { Document, isScalar, isSeq, visit } from 'yaml';
import { prove, resolverSuggestionHint, type Proof, type ProofMiss } from './proof.ts';
import type { SessionSelector } from './session.ts';
import type { AggregatedAddress, AggregatedDestination, AnsweredResolver } from './store.ts';

export type { RuleProto };
// Shared with the denial feed and `sluice why` (@sluice/policy-advice); re-exported for callers of this module.
export { compareIp, governingPolicy, narrowestCidr, newPolicyName } from '@sluice/policy-advice';

export interface Addition {
  host?: string;
  cidr?: string;
  proto: RuleProto;
  ports: number[];
  seen: number;
  agents: string[];
  note?: string;
}

export interface Suggestion {
  host: string;
  proto: RuleProto;
  ports: number[];
  members: string[];
  note: string;
  /** The space the wildcard opens beyond the members that were observed. */
  opens: string;
  /** Breadth findings (@sluice/policy-lint) the wildcard would raise, as "code: message". */
  findings: string[];
}

/**
 * A resolver that answered the session's DNS but is not proposed: it is neither on loopback nor one
 * the operator declared (LEARNER_TRUSTED_RESOLVERS). Accepting it is an explicit act (--resolver).
 */
export interface ResolverSuggestion {
  resolver: string;
  /** DNS flows to it that got an answer. */
  answered: number;
  note: string;
  findings: string[];
}

export interface Prune {
  index: number;
  rule: string;
  note: string;
}

export interface Skipped {
  destination: string;
  reason: string;
}

export interface Proposal {
  project: string;
  /**
   * Resolvers that answered the session's DNS and are on loopback or declared trusted: proposed as
   * the policy's resolvers (never as open port-53 rules).
   */
  resolvers: string[];
  /** Resolvers that answered but that the agent may run itself: offered, never added unasked. */
  resolver_suggestions: ResolverSuggestion[];
  agent?: string;
  /** Name of the policy the additions go to; `created` when no policy selects these workloads. */
  policy: string;
  created: boolean;
  additions: Addition[];
  suggestions: Suggestion[];
  prune: Prune[];
  skipped: Skipped[];
  /** The session's would-deny attempts replayed against the policy as accepted (proof.ts). */
  proof: Proof;
}

export interface ProposalOptions {
  /** Distinct names under one registrable domain before a wildcard is suggested. */
  minSiblings?: number;
  /** Addresses that answered the session's DNS (the store's evidence). */
  answered?: readonly AnsweredResolver[];
  /** Non-loopback resolvers the operator runs (LEARNER_TRUSTED_RESOLVERS): proposed like loopback ones. */
  trustedResolvers?: readonly string[];
}

const protoMatches = (rule: AllowRule, proto: string) => rule.proto === 'any' || rule.proto === proto;
const portIn = (ranges: readonly PortRange[], port: number) => ranges.some((r) => port >= r.from && port <= r.to);


const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);






function ruleText(r: AllowRule): string {
  const ports = r.ports.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`)).join(',');
  return `${'host' in r ? r.host.text : r.cidr.text} ${r.proto} ${ports}`;
}

export function propose(
  doc: PolicyDocument | undefined,
  sel: SessionSelector,
  destinations: readonly AggregatedDestination[],
  addresses: readonly AggregatedAddress[],
  opts: ProposalOptions = {},
): Proposal {
  const minSiblings = opts.minSiblings ?? 2;
  const policy = governingPolicy(doc, sel);
  const skipped: Skipped[] = [];
  // Destinations left out on purpose: out of the proof too, listed under skipped.
  const declined = new Set<AggregatedDestination>();
  const answered = new Map<string, number>();
  for (const r of opts.answered ?? []) {
    const ip = canonicalAddress(r.ip);
    if (ip) answered.set(ip, (answered.get(ip) ?? 0) + r.answered);
  }
  const trusted = new Set((opts.trustedResolvers ?? []).map(canonicalAddress).filter((x): x is string => x !== undefined));
  // (target, proto) → ports, attempts, agents
  const groups = new Map<string, { host?: string; cidr?: string; proto: RuleProto; ports: Set<number>; seen: number; agents: Set<string> }>();

  for (const d of destinations) {
    if (d.learned === 0) continue;
    const label = `${d.host ?? d.ip} ${d.proto}/${d.port}`;
    const need = ruleFor(policy, d);
    if (need.kind === 'covered') continue;
    if (need.kind === 'skip') {
      skipped.push({ destination: label, reason: need.reason });
      declined.add(d);
      continue;
    }
    if (need.kind === 'resolver') {
      // Never an open port-53 rule. A resolver only if it answered (below); otherwise the agent
      // sent port-53 traffic that nothing answered, and listing it would only open a channel.
      if (!answered.has(need.ip)) {
        skipped.push({ destination: label, reason: 'port 53 with no answer seen: not proposed as a resolver (listing it would open UDP and TCP 53 to it)' });
        declined.add(d);
      }
      continue;
    }
    const target: { host: string } | { cidr: string } = 'host' in need ? { host: need.host } : { cidr: need.cidr };
    const key = 'host' in need ? `h|${need.host}|${need.proto}` : `i|${need.cidr}|${need.proto}`;
    const g = groups.get(key) ?? { ...target, proto: need.proto, ports: new Set<number>(), seen: 0, agents: new Set<string>() };
    g.ports.add(d.port);
    g.seen += d.learned;
    for (const a of d.agents) g.agents.add(a);
    groups.set(key, g);
  }

  const additions: Addition[] = [...groups.values()].map((g) => ({
    ...(g.host !== undefined ? { host: g.host } : { cidr: g.cidr! }),
    proto: g.proto,
    ports: [...g.ports].sort((a, b) => a - b),
    seen: g.seen,
    agents: [...g.agents].sort(compareText),
    ...(g.cidr !== undefined ? { note: 'no DNS name seen' } : {}),
  }));
  additions.sort((a, b) => {
    if ((a.host === undefined) !== (b.host === undefined)) return a.host === undefined ? 1 : -1;
    const byTarget = a.host !== undefined ? compareText(a.host, b.host!) : compareIp(a.cidr!.split('/')[0]!, b.cidr!.split('/')[0]!);
    return byTarget || compareText(a.proto, b.proto);
  });

  const name = policy?.name ?? newPolicyName(doc, sel);
  const resolvers: string[] = [];
  const resolverSuggestions: ResolverSuggestion[] = [];
  for (const [ip, n] of [...answered].sort(([a], [b]) => compareIp(a, b))) {
    if (policy?.resolvers.some((r) => canonicalAddress(r) === ip)) continue;
    if (isLoopbackAddress(ip) || trusted.has(ip)) {
      resolvers.push(ip);
      continue;
    }
    const f = learnedResolverFinding(ip);
    resolverSuggestions.push({
      resolver: ip,
      answered: n,
      note: `suggestion only: answered ${n} DNS flow(s) of the session; accept adds it only when told to (--resolver ${ip}) or when LEARNER_TRUSTED_RESOLVERS lists it`,
      findings: f ? [`${f.code}: ${f.message}`] : [],
    });
  }
  const proof = prove(
    doc,
    sel,
    { policy: name, created: policy === undefined, resolvers, additions },
    destinations.filter((d) => !declined.has(d)),
  );
  const suggestionHint = resolverSuggestionHint(proof.enforce_would_deny, resolverSuggestions.map((r) => r.resolver));
  return {
    project: sel.project,
    ...(sel.agent !== undefined ? { agent: sel.agent } : {}),
    policy: name,
    created: policy === undefined,
    resolvers,
    resolver_suggestions: resolverSuggestions,
    additions,
    suggestions: suggest(additions, minSiblings),
    prune: policy ? unused(policy, destinations, addresses) : [],
    skipped: skipped.sort((a, b) => compareText(a.destination, b.destination)),
    proof: suggestionHint ? { ...proof, hint: suggestionHint } : proof,
  };
}

/** The text form policies compare resolvers in (IPv4-mapped IPv6 as IPv4), or undefined. */
function canonicalAddress(ip: string): string | undefined {
  return narrowestCidr(ip)?.split('/')[0];
}

/**
 * Wildcards by registrable domain. Private suffixes count as public here (s3.amazonaws.com,
 * githubusercontent.com): two buckets of different owners must never be offered `**.amazonaws.com`.
 */
function suggest(additions: readonly Addition[], minSiblings: number): Suggestion[] {
  const byDomain = new Map<string, Addition[]>();
  for (const a of additions) {
    if (a.host === undefined) continue;
    const domain = getDomain(a.host, { allowPrivateDomains: true });
    if (!domain || domain === a.host) continue;
    byDomain.set(`${domain}|${a.proto}`, [...(byDomain.get(`${domain}|${a.proto}`) ?? []), a]);
  }
  const out: Suggestion[] = [];
  for (const [key, members] of byDomain) {
    const names = [...new Set(members.map((m) => m.host!))].sort(compareText);
    if (names.length < minSiblings) continue;
    const [domain, proto] = key.split('|') as [string, RuleProto];
    const oneLabel = names.every((n) => n.slice(0, -domain.length - 1).split('.').length === 1);
    const host = `${oneLabel ? '*' : '**'}.${domain}`;
    const ports = [...new Set(members.flatMap((m) => m.ports))].sort((a, b) => a - b);
    const rule = AllowRuleSchema.parse({ host, ports, proto }) as AllowRule;
    out.push({
      host,
      proto,
      ports,
      members: names,
      note: `suggestion only: ${names.length} names under ${domain} were seen; accept adds the exact names unless told to use this wildcard`,
      opens: `${oneLabel ? 'every name one label below' : 'every name at any depth below'} ${domain} on ${proto} ${ports.join(',')}, not only the ${names.length} seen`,
      findings: breadthFindings(rule).map((f) => `${f.code}: ${f.message}`),
    });
  }
  return out.sort((a, b) => compareText(a.host, b.host) || compareText(a.proto, b.proto));
}

function unused(policy: Policy, destinations: readonly AggregatedDestination[], addresses: readonly AggregatedAddress[]): Prune[] {
  const out: Prune[] = [];
  policy.egress.allow.forEach((r, index) => {
    const used =
      'host' in r
        ? destinations.some((d) => d.host !== undefined && hostMatches(r.host, d.host) && portIn(r.ports, d.port) && protoMatches(r, d.proto))
        : addresses.some((a) => {
            const b = ipBytes(a.ip);
            if (!b || !portIn(r.ports, a.port) || !protoMatches(r, a.proto)) return false;
            return cidrContains(mappedCidr(r.cidr), mappedCidr({ family: b.length === 4 ? 4 : 6, bytes: b, prefix: b.length * 8, text: a.ip }));
          });
    if (!used) out.push({ index, rule: ruleText(r), note: 'unused during the learn window' });
  });
  return out;
}

/** The diff as YAML. Field order is fixed by construction; no timestamps, so runs compare equal. */
export function renderProposal(p: Proposal): string {
  const doc = {
    project: p.project,
    ...(p.agent !== undefined ? { agent: p.agent } : {}),
    policy: p.policy,
    ...(p.created ? { note: 'no policy selects these workloads yet: accept creates this one' } : {}),
    ...(p.resolvers.length ? { resolvers: p.resolvers } : {}),
    ...(p.resolver_suggestions.length
      ? { suggest_resolvers: p.resolver_suggestions.map((r) => ({ resolver: r.resolver, answered: r.answered, note: r.note, findings: r.findings })) }
      : {}),
    add: p.additions.map((a) => ({
      ...(a.host !== undefined ? { host: a.host } : { cidr: a.cidr }),
      ports: a.ports,
      proto: a.proto,
      ...(a.note ? { note: a.note } : {}),
      seen: a.seen,
      agents: a.agents,
    })),
    suggest: p.suggestions.map((s) => ({
      host: s.host,
      ports: s.ports,
      proto: s.proto,
      members: s.members,
      note: s.note,
      opens: s.opens,
      ...(s.findings.length ? { findings: s.findings } : {}),
    })),
    prune: p.prune.map((x) => ({ rule: x.rule, index: x.index, note: x.note })),
    ...(p.skipped.length ? { skipped: p.skipped } : {}),
    proof: renderProof(p.proof),
  };
  const yaml = new Document(doc);
  // Short lists read best inline ("ports: [443, 8443]"); everything else stays block style.
  visit(yaml, {
    Pair(_, pair) {
      if (isScalar(pair.key) && FLOW_KEYS.has(String(pair.key.value)) && isSeq(pair.value)) pair.value.flow = true;
    },
  });
  return yaml.toString({ lineWidth: 0, flowCollectionPadding: false });
}

const FLOW_KEYS = new Set(['ports', 'agents', 'members', 'resolvers']);

function renderProof(proof: Proof): Record<string, unknown> {
  const claim = (misses: readonly ProofMiss[], how: string) =>
    `${how}: ${misses.length} of ${proof.attempts} would-deny attempts (${proof.destinations} destinations) would still be denied`;
  const list = (misses: readonly ProofMiss[]) => misses.map((m) => `${m.agent ?? '-'} -> ${m.destination}:${m.port}/${m.proto} ${m.outcome}`);
  return {
    accept: claim(proof.would_deny, 'after accepting'),
    ...(proof.would_deny.length ? { would_deny: list(proof.would_deny) } : {}),
    enforce: claim(proof.enforce_would_deny, 'after accepting with --enforce'),
    ...(proof.enforce_would_deny.length ? { enforce_would_deny: list(proof.enforce_would_deny) } : {}),
    ...(proof.hint ? { hint: proof.hint } : {}),
  };
}
