// Replaying recorded egress attempts against a candidate document: what would it have done to this
// traffic? The candidate is compiled and evaluated by the same compile()/evaluate() that model the
// kernel (plan proofs, `diff`), so the answer is the kernel's, not a second reading of the rules.
// Compared with what was recorded, each attempt is unchanged, newly denied or newly allowed. Pure.
import type { DnsEvent, EgressEvent, PolicyDocument } from '@sluice/contracts';
import { formatIp, ipBytes, selectPolicy } from '@sluice/contracts';
import { compile, type Workload } from './compile.ts';
import { evaluate, type L4, type Outcome } from './evaluate.ts';

/** What the policy's rules said: allow, or deny (enforced, or flagged as would-deny in learn mode). */
export type Decision = 'allow' | 'deny';

export interface Attempt {
  time: string;
  project?: string | undefined;
  agent?: string | undefined;
  dst_ip: string;
  dst_port: number;
  proto: L4;
  /** The name the cgroup resolved dst_ip from, as the kernel's DNS cache attributed it. */
  dst_host?: string | undefined;
  /** Resolvers seen answering dst_host for this workload (DNS events); undefined: not known. */
  resolvers?: readonly string[] | undefined;
  recorded: Decision;
}

const canonicalIp = (ip: string) => {
  const b = ipBytes(ip.trim());
  return b ? formatIp(b) : ip;
};
const nameKey = (project: string | undefined, agent: string | undefined, name: string) =>
  JSON.stringify([project ?? null, agent ?? null, name.toLowerCase().replace(/\.$/, '')]);

/**
 * Which resolvers answered which names, per workload, from stored DNS events: egress events carry
 * the name but not who answered it, and the kernel matches host rules only for names answered by
 * one of the policy's resolvers (any resolver in learn mode).
 */
export class ResolverIndex {
  private readonly byName = new Map<string, Set<string>>();

  add(e: DnsEvent): void {
    if (e.resolver_ip === undefined || e.answers.length === 0) return;
    const key = nameKey(e.project, e.agent, e.qname);
    let set = this.byName.get(key);
    if (!set) this.byName.set(key, (set = new Set()));
    set.add(canonicalIp(e.resolver_ip));
  }

  get size(): number {
    return this.byName.size;
  }

  lookup(project: string | undefined, agent: string | undefined, name: string): string[] | undefined {
    const set = this.byName.get(nameKey(project, agent, name));
    return set ? [...set].sort() : undefined;
  }
}

export type SkipReason = 'bypassed' | 'not_a_connection' | 'interim' | 'not_tcp_udp';

/**
 * The attempt an event records, or why it is not one a policy decides. Interim records repeat a
 * flow that also gets a close record; bypassed attempts carry no policy decision at all.
 */
export function attemptOf(e: EgressEvent, resolvers?: ResolverIndex): Attempt | SkipReason {
  if (e.kind === 'sock_create' || e.kind === 'suppressed') return 'not_a_connection';
  if (e.kind === 'tcp_interim') return 'interim';
  if (e.verdict === 'BYPASSED') return 'bypassed';
  if (e.l4_proto !== 'tcp' && e.l4_proto !== 'udp') return 'not_tcp_udp';
  return {
    time: e.time,
    project: e.project,
    agent: e.agent,
    dst_ip: e.dst_ip,
    dst_port: e.dst_port,
    proto: e.l4_proto,
    dst_host: e.dst_host,
    ...(e.dst_host && resolvers ? { resolvers: resolvers.lookup(e.project, e.agent, e.dst_host) } : {}),
    recorded: e.verdict === 'DENIED' || e.audit ? 'deny' : 'allow',
  };
}

export interface ChangeGroup {
  project: string | null;
  agent: string | null;
  /** dst_host when the attempt was attributed to a name, the address otherwise. */
  destination: string;
  port: number;
  proto: L4;
  /** What the candidate does: DENIED (enforce), AUDIT (learn: would deny), ALLOWED. */
  outcome: Outcome;
  count: number;
  first: string;
  last: string;
  /** Addresses seen for this destination (a name can resolve to several). */
  addresses: string[];
}

export interface Simulation {
  replayed: number;
  unchanged: number;
  newly_denied: ChangeGroup[];
  newly_allowed: ChangeGroup[];
}

const identityKey = (a: { project?: string | undefined; agent?: string | undefined }) => JSON.stringify([a.project ?? null, a.agent ?? null]);

/** A compiled candidate that decides attempts; build once, ask many times. */
export function candidateJudge(document: PolicyDocument): (a: Attempt) => Outcome {
  const workloads = new Map<string, Workload>();
  let compiled = compile({ document, workloads: [] });
  return (a) => {
    // Selection depends only on labels, so one synthetic workload per (project, agent) stands for
    // every cgroup that carried them: cgroup ids are reused, labels are what policies select.
    const key = identityKey(a);
    let w = workloads.get(key);
    if (!w) {
      w = { cgroup_id: String(workloads.size + 1), project: a.project, agent: a.agent };
      workloads.set(key, w);
      compiled = compile({ document, workloads: workloads.values() });
    }
    // The kernel matches host rules only for names answered by one of the policy's resolvers (any
    // resolver in learn mode). When DNS events said who answered, that decides; otherwise a name
    // counts when the governing policy could have trusted some answer at all.
    const p = selectPolicy(document.policies, a);
    const trusted =
      p !== undefined &&
      (p.mode === 'learn' || (a.resolvers !== undefined ? a.resolvers.some((r) => p.resolvers.includes(r)) : p.resolvers.length > 0));
    return evaluate(compiled.state, {
      cgroup_id: w.cgroup_id,
      dst: a.dst_ip,
      port: a.dst_port,
      proto: a.proto,
      ...(trusted && a.dst_host ? { name: a.dst_host } : {}),
    });
  };
}

const decisionOf = (o: Outcome): Decision => (o === 'ALLOWED' || o === 'BYPASSED' ? 'allow' : 'deny');

/** Accumulates attempts one at a time (stores are streamed, not loaded). */
export class SimulationBuilder {
  private readonly judge: (a: Attempt) => Outcome;
  private replayed = 0;
  private unchanged = 0;
  private readonly groups = new Map<string, ChangeGroup>();

  constructor(document: PolicyDocument) {
    this.judge = candidateJudge(document);
  }

  add(a: Attempt): Outcome {
    this.replayed++;
    const outcome = this.judge(a);
    if (decisionOf(outcome) === a.recorded) {
      this.unchanged++;
      return outcome;
    }
    const destination = a.dst_host ?? a.dst_ip;
    const key = JSON.stringify([identityKey(a), destination, a.dst_port, a.proto, outcome]);
    const g = this.groups.get(key);
    if (!g) {
      this.groups.set(key, {
        project: a.project ?? null,
        agent: a.agent ?? null,
        destination,
        port: a.dst_port,
        proto: a.proto,
        outcome,
        count: 1,
        first: a.time,
        last: a.time,
        addresses: [a.dst_ip],
      });
    } else {
      g.count++;
      if (a.time < g.first) g.first = a.time;
      if (a.time > g.last) g.last = a.time;
      if (!g.addresses.includes(a.dst_ip) && g.addresses.length < 16) g.addresses.push(a.dst_ip);
    }
    return outcome;
  }

  result(): Simulation {
    const order = (x: ChangeGroup, y: ChangeGroup) =>
      (x.project ?? '').localeCompare(y.project ?? '') ||
      (x.agent ?? '').localeCompare(y.agent ?? '') ||
      x.destination.localeCompare(y.destination) ||
      x.port - y.port ||
      x.proto.localeCompare(y.proto);
    const all = [...this.groups.values()].sort(order);
    return {
      replayed: this.replayed,
      unchanged: this.unchanged,
      newly_denied: all.filter((g) => decisionOf(g.outcome) === 'deny'),
      newly_allowed: all.filter((g) => decisionOf(g.outcome) === 'allow'),
    };
  }
}

export function simulate(document: PolicyDocument, attempts: Iterable<Attempt>): Simulation {
  const b = new SimulationBuilder(document);
  for (const a of attempts) b.add(a);
  return b.result();
}

/** The attempts `document` does not allow (denied, or would-deny in learn mode): a proof's misses. */
export function deniedBy(document: PolicyDocument, attempts: Iterable<Attempt>): Array<Attempt & { outcome: Outcome }> {
  const judge = candidateJudge(document);
  const out: Array<Attempt & { outcome: Outcome }> = [];
  for (const a of attempts) {
    const outcome = judge(a);
    if (decisionOf(outcome) === 'deny') out.push({ ...a, outcome });
  }
  return out;
}
