// A learn proposal's proof: the session's own would-deny attempts replayed against the document
// as it would be after accepting, both as accepted (the policy keeps its mode; a new one learns)
// and with --enforce (the usual next step and the stricter one: enforce trusts only DNS answers
// from listed resolvers). Zero misses is the claim a proposal makes before it is offered;
// `learn accept` replays the same attempts against the exact document it is about to apply. The replay is the policy
// service's own compile/evaluate (@sluice/policy/simulate), the kernel model. Pure.
import { AllowRule, Policy, PolicyDocument, selectPolicy, type Selector } from '@sluice/contracts';
import { deniedBy, type Attempt } from '@sluice/policy/simulate';
import type { Outcome } from '@sluice/policy/evaluate';
import type { SessionSelector } from './session.ts';
import type { AggregatedDestination } from './store.ts';

/**
 * Host destinations are aggregated by name, without the address they resolved to. A documentation
 * address (RFC 3849) stands in: no honest CIDR rule covers it, so the name alone must be allowed,
 * as it must be in the kernel for the many addresses a name can move to.
 */
export const NAME_ONLY_ADDRESS = '2001:db8::5';

/** One learned destination as replayable attempts (one per agent seen going there). */
export interface ProofAttempt {
  host?: string;
  ip?: string;
  port: number;
  proto: 'tcp' | 'udp';
  agents: string[];
  /** Would-deny attempts the session recorded for it. */
  seen: number;
}

export interface ProofMiss {
  destination: string;
  port: number;
  proto: 'tcp' | 'udp';
  agent: string | null;
  outcome: Outcome;
}

export interface Proof {
  /** Learned destinations and the would-deny attempts behind them. */
  destinations: number;
  attempts: number;
  /** Still denied (or would-deny) after accepting as is. */
  would_deny: ProofMiss[];
  /** Still denied after accepting with --enforce. */
  enforce_would_deny: ProofMiss[];
  /** Why misses happen, when a single cause explains them. */
  hint?: string;
  /** What was replayed, so `learn accept` can replay it against the document it applies. */
  replay: ProofAttempt[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted on a total order, so the proof (and the rendered diff) never depends on input order. */
export function proofAttempts(destinations: readonly AggregatedDestination[]): ProofAttempt[] {
  return destinations
    .filter((d) => d.learned > 0 && (d.proto === 'tcp' || d.proto === 'udp'))
    .map((d): ProofAttempt => ({
      ...(d.host !== undefined ? { host: d.host } : { ip: d.ip! }),
      port: d.port,
      proto: d.proto as 'tcp' | 'udp',
      agents: [...d.agents].sort(cmp),
      seen: d.learned,
    }))
    .sort((a, b) => cmp(a.host ?? '', b.host ?? '') || cmp(a.ip ?? '', b.ip ?? '') || a.port - b.port || cmp(a.proto, b.proto));
}

function attempts(project: string, sel: Partial<Selector>, list: readonly ProofAttempt[]): Attempt[] {
  return list.flatMap((d) => {
    const agents = d.agents.length ? d.agents : [sel.agent ?? ''];
    return agents.map((agent) => ({
      time: '1970-01-01T00:00:00.000Z',
      project,
      agent: agent === '' ? undefined : agent,
      dst_ip: d.ip ?? NAME_ONLY_ADDRESS,
      dst_port: d.port,
      proto: d.proto,
      dst_host: d.host,
      recorded: 'deny' as const,
    }));
  });
}

/** Replay `list` against `document`: the attempts it would still deny. */
export function replayProof(document: PolicyDocument, sel: SessionSelector, list: readonly ProofAttempt[]): ProofMiss[] {
  return deniedBy(document, attempts(sel.project, sel, list)).map((a) => ({
    destination: a.dst_host ?? a.dst_ip,
    port: a.dst_port,
    proto: a.proto,
    agent: a.agent ?? null,
    outcome: a.outcome,
  }));
}

export interface Additions {
  policy: string;
  created: boolean;
  resolvers: readonly string[];
  additions: ReadonlyArray<{ host?: string; cidr?: string; proto: string; ports: readonly number[] }>;
}

/**
 * The document after the additions, in memory and through the same schemas as validation, as
 * policy-merge.ts writes it (a new policy starts in learn mode). `learn accept` replays against the
 * merged YAML itself.
 */
export function documentAfter(doc: PolicyDocument | undefined, sel: SessionSelector, p: Additions, enforce: boolean): PolicyDocument {
  const base = doc ?? PolicyDocument.parse({ version: 1 });
  const rules = p.additions.map((a) => AllowRule.parse({ ...(a.host !== undefined ? { host: a.host } : { cidr: a.cidr }), ports: [...a.ports], proto: a.proto }));
  const policies = base.policies.map((x) =>
    x.name === p.policy
      ? { ...x, mode: enforce ? ('enforce' as const) : x.mode, resolvers: [...x.resolvers, ...p.resolvers], egress: { allow: [...x.egress.allow, ...rules] } }
      : x,
  );
  if (p.created) {
    policies.push(
      Policy.parse({
        name: p.policy,
        match: { project: sel.project, ...(sel.agent !== undefined ? { agent: sel.agent } : {}) },
        mode: enforce ? 'enforce' : 'learn',
        resolvers: [...p.resolvers],
        egress: { allow: [] },
      }),
    );
    policies[policies.length - 1]!.egress.allow.push(...rules);
  }
  return { ...base, policies };
}

export function prove(doc: PolicyDocument | undefined, sel: SessionSelector, p: Additions, destinations: readonly AggregatedDestination[]): Proof {
  const replay = proofAttempts(destinations);
  const enforced = documentAfter(doc, sel, p, true);
  const enforce_would_deny = replayProof(enforced, sel, replay);
  const hint = resolverHint(enforced, sel, enforce_would_deny);
  return {
    destinations: replay.length,
    attempts: replay.reduce((n, d) => n + d.seen, 0),
    would_deny: replayProof(documentAfter(doc, sel, p, false), sel, replay),
    enforce_would_deny,
    ...(hint ? { hint } : {}),
    replay,
  };
}

/**
 * DNS to a resolver the proposal only suggests (not loopback, not declared trusted) stays denied
 * until the operator accepts that resolver on purpose: say which and how.
 */
export function resolverSuggestionHint(misses: readonly ProofMiss[], suggested: readonly string[]): string | undefined {
  const hit = [...new Set(misses.filter((m) => m.port === 53 && suggested.includes(m.destination)).map((m) => m.destination))];
  if (hit.length === 0) return undefined;
  return `DNS to ${hit.join(', ')} stays denied: ${hit.length === 1 ? 'it answered' : 'they answered'} the session's queries but ${hit.length === 1 ? 'is' : 'are'} not on loopback nor in LEARNER_TRUSTED_RESOLVERS (an agent can run its own "resolver" as a DNS-tunnel exit); if you run ${hit.length === 1 ? 'it' : 'them'}, accept with ${hit.map((r) => `--resolver ${r}`).join(' ')}`;
}

/** Names denied because the enforcing policy lists no resolver: the commonest miss, named. */
export function resolverHint(document: PolicyDocument, sel: SessionSelector, misses: readonly ProofMiss[]): string | undefined {
  for (const m of misses) {
    if (m.destination.includes(':') || /^[\d.]+$/.test(m.destination)) continue;
    const p = selectPolicy(document.policies, { project: sel.project, agent: m.agent ?? undefined });
    if (p && p.mode === 'enforce' && p.resolvers.length === 0) {
      return `policy ${p.name} lists no resolvers: in enforce mode the kernel trusts no DNS answer, so no host rule matches; add the agents' DNS server (e.g. resolvers: [127.0.0.11] for Docker's embedded DNS) and accept again`;
    }
  }
  return undefined;
}
