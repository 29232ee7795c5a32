// One denied attempt → why, and the smallest policy change that would allow it (or what else it
// needs when no rule can). "Smallest" means what it opens, not how few characters it takes: one
// rule for exactly the name or address, port and protocol that was denied, in the policy that
// governs the workload (never a wider port list on a near-miss rule, never a wildcard), or a new
// policy selecting exactly the workload's labels. Every change is replayed through the policy
// service's own compile/evaluate (the kernel model) before it is offered: `verified`. Pure.
import {
  AllowRule,
  Policy,
  PolicyDocument,
  RULE_BITS,
  selectPolicy,
  type DenialAdvice,
  type DnsEvent,
  type EgressEvent,
  type NoChange,
  type PolicyIds,
  type SuggestedChange,
  type SuggestedRule,
} from '@sluice/contracts';
import { candidateJudge, type Attempt } from '@sluice/policy/simulate';
import { isRuleProto, newPolicyName, ruleFor } from './rule-for.ts';
import { renderChange } from './render.ts';

export interface CurrentDocument {
  document: PolicyDocument;
  revision?: number | undefined;
  /** The revision's kernel id table (policy API `get`), to name the rule an event's rule_id points at. */
  ids?: PolicyIds | undefined;
}

export interface AdviseOptions {
  /** Resolvers seen answering this event's dst_host for this workload (DNS events), when known. */
  resolvers?: readonly string[] | undefined;
}

const EMPTY = PolicyDocument.parse({ version: 1 });
const normaliseHost = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

const NO_RULE: Partial<Record<string, { code: NoChange['code']; why: (e: EgressEvent) => string; message: string }>> = {
  raw_socket: {
    code: 'raw_socket',
    why: (e) => `a raw or ICMP socket (${e.sock_type ?? 'raw'}, protocol ${e.sock_protocol ?? '?'}) in an enforced workload`,
    message:
      'no allow rule opens raw IP or ICMP sockets: no sendmsg hook sees their packets. Use TCP or UDP, or grant a time-limited bypass (sluice policy bypass --agent A --for 10m), or run the workload in learn mode',
  },
  dns_bind: {
    code: 'dns_bind',
    why: (e) => `bind() to ${e.dst_ip || 'an address'}:${e.dst_port}: port 53 or a resolver address`,
    message:
      'refused by design, not by a missing rule: a process that can send from port 53 or a resolver address could forge DNS answers. Bind another port (a local DNS server must run outside the enforced workload)',
  },
  source_route_opt: {
    code: 'source_route_opt',
    why: () => 'setsockopt of a source-routing option (IP_OPTIONS / IP_RETOPTS / IPV6_RTHDR)',
    message: 'refused by design, not by a missing rule: a source route could steer an allowed connection elsewhere. The client must not set it',
  },
  source_route: {
    code: 'source_route',
    why: (e) => `a packet to ${e.dst_ip}:${e.dst_port} carrying a source route (IPv4 LSRR/SSRR or an IPv6 routing header), dropped`,
    message: 'refused by design, not by a missing rule: a source route could steer an allowed connection elsewhere. The client must not send one',
  },
  bpf_syscall: {
    code: 'bpf_syscall',
    why: (e) => `a bpf() call (command ${e.bpf_cmd ?? '?'}) from inside the enforced workload`,
    message:
      'refused by design, in every mode and under a bypass: bpf() from an agent could detach or rewrite its own enforcement. Tools that need BPF must run outside the managed scope',
  },
};

const KIND_REASON: Partial<Record<EgressEvent['kind'], string>> = {
  sock_create: 'raw_socket',
  bind: 'dns_bind',
  sockopt: 'source_route_opt',
  packet: 'source_route',
  bpf: 'bpf_syscall',
};

/** "policies[web].egress.allow[2] (api.github.com tcp 443)" for an event's rule id, when the revision knows it. */
export function describeRule(cur: CurrentDocument | undefined, policyId: number | undefined, ruleId: number): string | undefined {
  if (!cur?.ids || ruleId === 0) return undefined;
  const pid = Math.floor(ruleId / (1 << RULE_BITS));
  const index = (ruleId % (1 << RULE_BITS)) - 1;
  const name = Object.entries(cur.ids.policies).find(([, v]) => v.id === pid)?.[0];
  if (name === undefined) return `rule ${ruleId} of policy id ${policyId ?? pid} (not in revision ${cur.revision ?? '?'})`;
  const p = cur.document.policies.find((x) => x.name === name);
  if (!p) return undefined;
  const r = p.egress.allow[index];
  if (r) {
    const ports = r.ports.map((x) => (x.from === x.to ? String(x.from) : `${x.from}-${x.to}`)).join(',');
    return `policies[${name}].egress.allow[${index}] (${'host' in r ? r.host.text : r.cidr.text} ${r.proto} ${ports})`;
  }
  const resolver = p.resolvers[index - p.egress.allow.length];
  return resolver !== undefined ? `policies[${name}].resolvers[${index - p.egress.allow.length}] (${resolver})` : undefined;
}

function destination(e: EgressEvent): string {
  return `${e.dst_host ? `${e.dst_host} (${e.dst_ip})` : e.dst_ip}:${e.dst_port}/${e.l4_proto}`;
}

/** The document with the change applied, through the same schemas as validation. */
export function documentWith(doc: PolicyDocument, c: Pick<SuggestedChange, 'policy' | 'created' | 'match' | 'add' | 'resolver'>): PolicyDocument {
  const rules = c.add ? [AllowRule.parse(c.add) as AllowRule] : [];
  const resolvers = c.resolver ? [c.resolver] : [];
  if (c.created) {
    const p = Policy.parse({ name: c.policy, match: c.match, mode: 'enforce', loopback: false, resolvers, egress: { allow: [] } });
    p.egress.allow.push(...rules);
    return { ...doc, policies: [...doc.policies, p] };
  }
  return {
    ...doc,
    policies: doc.policies.map((p) =>
      p.name === c.policy ? { ...p, resolvers: [...p.resolvers, ...resolvers], egress: { allow: [...p.egress.allow, ...rules] } } : p,
    ),
  };
}

/** When the current policy cannot be read: the denial with why, and no change (one would be a guess). */
export function unavailableAdvice(e: EgressEvent, error: string): DenialAdvice {
  const guard = e.verdict === 'DENIED' ? NO_RULE[KIND_REASON[e.kind] ?? e.reason] : undefined;
  if (guard) return { why: guard.why(e), no_change: { code: guard.code, message: guard.message } };
  return {
    why: `${e.kind} to ${destination(e)} denied (${e.reason})`,
    no_change: { code: 'policy_unavailable', message: `the current policy could not be read, so no change is suggested: ${error}` },
  };
}

const allowed = (o: string) => o === 'ALLOWED' || o === 'BYPASSED';

export function adviseDenial(cur: CurrentDocument | undefined, e: EgressEvent, opts: AdviseOptions = {}): DenialAdvice {
  const doc = cur?.document ?? EMPTY;
  const labels = { project: e.project, agent: e.agent };
  const rule = describeRule(cur, e.policy_id, e.rule_id);
  const noChange = (code: NoChange['code'], why: string, message: string): DenialAdvice => ({
    ...(rule ? { rule } : {}),
    why,
    no_change: { code, message },
  });

  if (e.kind === 'suppressed') {
    return noChange('suppressed', `a rate-limit summary of ${e.suppressed_count ?? 0} records`, 'the records it stands for were not kept one by one; the earlier events of this workload show the attempts');
  }
  if (e.verdict !== 'DENIED') return noChange('not_denied', `verdict ${e.verdict}${e.audit ? ' (learn mode: would have been denied)' : ''}`, 'nothing was refused');
  const guard = NO_RULE[KIND_REASON[e.kind] ?? e.reason];
  if (guard) return noChange(guard.code, guard.why(e), guard.message);
  if (e.project === undefined && e.agent === undefined) {
    return noChange(
      'unattributed',
      `${destination(e)} from cgroup ${e.cgroup_id}, which carries no project or agent label`,
      'no policy can select a workload without labels, so it gets the default (deny all): label the container (dev.clawker.project / dev.clawker.agent) or register the cgroup (sluice identity register)',
    );
  }
  if (!isRuleProto(e.l4_proto)) return noChange('not_tcp_udp', `${destination(e)}`, `protocol ${e.l4_proto} cannot be allowed by a policy rule (tcp or udp only)`);
  if (e.dst_port === 0 || e.dst_ip === '') return noChange('no_destination', `${e.kind} with no destination address or port`, 'nothing a rule could name');

  const policy = selectPolicy(doc.policies, labels);
  const host = e.dst_host ? normaliseHost(e.dst_host) : undefined;
  const why =
    e.reason === 'rule_port'
      ? `${destination(e)}: a rule names this destination but not this port/protocol`
      : policy
        ? `${destination(e)}: no rule of policy ${policy.name} allows it`
        : `${destination(e)}: no policy selects ${JSON.stringify(labels)}, so the default denies everything`;
  const attempt: Attempt = {
    time: e.time,
    project: e.project,
    agent: e.agent,
    dst_ip: e.dst_ip,
    dst_port: e.dst_port,
    proto: e.l4_proto,
    dst_host: host,
    ...(host && opts.resolvers ? { resolvers: opts.resolvers } : {}),
    recorded: 'deny',
  };
  if (allowed(candidateJudge(doc)(attempt))) {
    const race = e.policy_id === 0 && policy ? ' or the cgroup had no policy entry yet when it connected (start race: run the container with --runtime sluice)' : '';
    return noChange('allowed_now', why, `the current policy${cur?.revision ? ` (revision ${cur.revision})` : ''} already allows this: the denial predates it${race}`);
  }

  const need = ruleFor(policy, { host, ip: e.dst_ip, port: e.dst_port, proto: e.l4_proto });
  if (need.kind === 'skip') return noChange('no_destination', why, need.reason);
  const known = opts.resolvers?.find((r) => !policy?.resolvers.includes(r));
  if (need.kind === 'covered') {
    // The rule is there and the kernel still denied: the name was not believed (no listed resolver answered it).
    if (host && known) return change(cur, doc, e, rule, why, { resolver: known }, attempt);
    return noChange(
      'covered_but_denied',
      why,
      host
        ? `a rule of policy ${policy?.name} names ${host}, but the kernel matches host rules only for names answered by one of the policy's resolvers: add the resolver the workload uses (e.g. 127.0.0.11 for Docker's embedded DNS) to its resolvers`
        : `a rule of policy ${policy?.name} covers this destination in the current revision; the denial was made under another one`,
    );
  }
  const add: SuggestedRule | undefined =
    need.kind === 'rule' ? ('host' in need ? { host: need.host, ports: [need.port], proto: need.proto } : { cidr: need.cidr, ports: [need.port], proto: need.proto }) : undefined;
  const resolver = need.kind === 'resolver' ? need.ip : add && 'host' in add && !policy?.resolvers.length ? known : undefined;
  return change(cur, doc, e, rule, why, { ...(add ? { add } : {}), ...(resolver ? { resolver } : {}) }, attempt);
}

function change(
  cur: CurrentDocument | undefined,
  doc: PolicyDocument,
  e: { project?: string | undefined; agent?: string | undefined },
  rule: string | undefined,
  why: string,
  what: Pick<SuggestedChange, 'add' | 'resolver'>,
  attempt: Attempt,
): DenialAdvice {
  const policy = selectPolicy(doc.policies, { project: e.project, agent: e.agent });
  const match = { ...(e.project !== undefined ? { project: e.project } : {}), ...(e.agent !== undefined ? { agent: e.agent } : {}) };
  const base = policy
    ? { policy: policy.name, created: false }
    : { policy: newPolicyName(doc, match, 'allow'), created: true, match };
  const c = { ...base, ...what };
  const verified = allowed(candidateJudge(documentWith(doc, c))(attempt));
  const hostRule = c.add !== undefined && 'host' in c.add;
  const note = !verified && hostRule
    ? "host rules match only names answered by one of the policy's resolvers: list the resolver the workload uses (e.g. 127.0.0.11 for Docker's embedded DNS) as well"
    : c.created
      ? 'a new policy for exactly this workload, in enforce mode; loopback: false keeps loopback denied as the default does (drop it to allow loopback)'
      : undefined;
  const full: SuggestedChange = { ...c, verified, yaml: '', ...(note ? { note } : {}) };
  full.yaml = renderChange(full, cur?.revision);
  return { ...(rule ? { rule } : {}), why, change: full };
}

const FORGED = new Set(['unsolicited', 'mismatch', 'wrong_socket']);

/**
 * A DNS answer the kernel refused to believe, so a later connect to its addresses was judged
 * without the name. `untrusted` (not from one of the policy's resolvers) is fixed by listing the
 * resolver; a forged one (no question of that socket matches) is refused by design.
 */
export function adviseDnsRejection(cur: CurrentDocument | undefined, d: DnsEvent): DenialAdvice | undefined {
  if (!d.rejected && !d.forged) return undefined;
  const answered = `answer for ${d.qname} from ${d.resolver_ip ?? 'an unknown resolver'}${d.answers.length ? ` (${d.answers.slice(0, 3).join(', ')}${d.answers.length > 3 ? ', …' : ''})` : ''}`;
  if (d.forged || FORGED.has(d.rejected ?? '')) {
    return {
      why: `${answered} not believed: ${d.rejected ?? 'forged'} (no question this socket asked that resolver matches it)`,
      no_change: {
        code: 'dns_forged',
        message:
          'refused by design, not by a missing rule: only an answer to a question the receiving socket asked is believed, so nobody inside the workload can name addresses by forging answers. Resolve through the resolver the workload asked (its own resolver library), not a hand-made reply',
      },
    };
  }
  if (d.rejected !== 'untrusted' || !d.resolver_ip) return { why: `${answered} not believed: ${d.rejected}`, no_change: { code: 'dns_forged', message: 'the kernel did not believe this answer' } };
  const doc = cur?.document ?? EMPTY;
  const e = { project: d.project, agent: d.agent };
  if (e.project === undefined && e.agent === undefined) {
    return { why: `${answered} not believed: untrusted resolver`, no_change: { code: 'unattributed', message: 'no policy can select a workload without labels: label the container or register the cgroup' } };
  }
  const attempt: Attempt = { time: d.time, project: d.project, agent: d.agent, dst_ip: d.resolver_ip, dst_port: 53, proto: 'udp', recorded: 'deny' };
  return change(cur, doc, e, undefined, `${answered} not believed: ${d.resolver_ip} is not a resolver of the workload's policy, so host rules never match its names`, { resolver: d.resolver_ip }, attempt);
}
