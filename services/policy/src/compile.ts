// Policy document + the containers on this node → the map state the kernel should hold. Pure.
//
// Kernel policies are immutable (bpf/map_types.h): a changed policy gets a *new* id, is written
// completely while nothing references it, and only then do cgroup entries flip to it. So ids are
// allocated by content: a policy whose name and content are unchanged keeps its id across
// revisions (no churn, rule ids in events stay meaningful); anything else gets an id that is not
// live in the previous revision nor present in the maps.
import { createHash } from 'node:crypto';
import {
  MAX_POLICIES,
  RULE_BITS,
  selectPolicy,
  type Policy,
  type PolicyDocument,
  type PolicyMode,
  type PortRange,
  type Proto,
} from '@sluice/contracts';
import { DEFAULT_TIMEOUTS, DENY_ALL_POLICY, emptyState, hostEntry, type CidrRuleEntry, type MapState, type PolicyContent } from './model.ts';

export interface PolicyIdTable {
  /** Where the allocator continues, so a just-freed id is not handed out again at once. */
  next_policy_id: number;
  /** policy name → its kernel id and the content hash that id was written with. */
  policies: Record<string, { id: number; hash: string }>;
}

export const EMPTY_ID_TABLE: PolicyIdTable = { next_policy_id: 1, policies: {} };

export interface Workload {
  cgroup_id: string;
  project?: string | undefined;
  agent?: string | undefined;
}

export interface RuleInfo {
  policy: string;
  kind: 'cidr' | 'host' | 'resolver';
  /** Index in egress.allow (cidr/host) or resolvers. */
  index: number;
  text: string;
}

export interface Compiled {
  state: MapState;
  ids: PolicyIdTable;
  /** rule id → what it is, so an event's rule_id can be explained. */
  rules: Record<number, RuleInfo>;
  /** Which policy each workload got (undefined: the default). */
  assignments: Record<string, string | null>;
  /** Things the document says that this kernel build cannot enforce yet, named, not hidden. */
  gaps: string[];
}

export class CompileError extends Error {
  override name = 'CompileError';
}

export const ruleId = (policyId: number, index: number): number => policyId * (1 << RULE_BITS) + index + 1;

interface PolicyBody {
  loopback: boolean;
  rules: Array<Omit<CidrRuleEntry, 'rule_id'> & { index: number }>;
  resolvers: string[];
  hosts: Array<{ host: string; ports: PortRange[]; proto: Proto; index: number }>;
}

function body(p: Policy): PolicyBody {
  const rules: PolicyBody['rules'] = [];
  const hosts: PolicyBody['hosts'] = [];
  p.egress.allow.forEach((r, index) => {
    if ('cidr' in r) rules.push({ index, cidr: r.cidr.text, ports: r.ports, proto: r.proto });
    else hosts.push({ index, host: r.host.text, ports: r.ports, proto: r.proto });
  });
  return { loopback: p.loopback, rules, resolvers: p.resolvers, hosts };
}

/** The name is part of the hash so one kernel id always names one policy in events. */
export function policyHash(p: Policy): string {
  return createHash('sha256').update(JSON.stringify([p.name, body(p)])).digest('hex').slice(0, 32);
}

/**
 * A policy the service itself installs for fixed cgroups (the enforcement canary): compiled and
 * id-allocated like a document's, never selected by labels. Its name must lie outside
 * PolicyName's alphabet so it can never meet a document policy's name in the id table.
 */
export interface PinnedPolicy {
  policy: Policy;
  cgroups: string[];
}

export interface CompileInput {
  document: PolicyDocument;
  /** Policies assigned to fixed cgroups (they override any label selection for those cgroups). */
  pinned?: readonly PinnedPolicy[];
  previous?: PolicyIdTable;
  /** Policy ids present in the maps right now (may include leftovers of an interrupted apply). */
  present?: Iterable<number>;
  workloads: Iterable<Workload>;
  /** cgroup id → bypass expiry (CLOCK_BOOTTIME ns). */
  bypass?: Map<string, bigint>;
}

export function compile(input: CompileInput): Compiled {
  const previous = input.previous ?? EMPTY_ID_TABLE;
  const doc = input.document;
  const state = emptyState();
  state.default = { policy_id: DENY_ALL_POLICY, mode: doc.default.mode };
  state.timeouts = {
    active_ms: doc.flows?.active_timeout ?? DEFAULT_TIMEOUTS.active_ms,
    udp_idle_ms: doc.flows?.udp_idle ?? DEFAULT_TIMEOUTS.udp_idle_ms,
  };
  const taken = new Set<number>([DENY_ALL_POLICY, ...(input.present ?? [])]);
  for (const e of Object.values(previous.policies)) taken.add(e.id);

  // Document policies first: a pinned policy whose remembered id a revision has since given to a
  // document policy yields it and is allocated afresh.
  const all = [...doc.policies, ...(input.pinned ?? []).map((p) => p.policy)];
  // Keep the ids of unchanged policies first, so a new policy can never claim one of them.
  const ids: PolicyIdTable = { next_policy_id: previous.next_policy_id, policies: {} };
  const hashes = new Map(all.map((p) => [p.name, policyHash(p)]));
  const kept = new Set<number>();
  for (const p of all) {
    const prev = previous.policies[p.name];
    if (prev && prev.hash === hashes.get(p.name) && !kept.has(prev.id)) {
      ids.policies[p.name] = prev;
      kept.add(prev.id);
    }
  }
  let cursor = Math.max(1, Math.min(previous.next_policy_id, MAX_POLICIES));
  const allocate = (): number => {
    for (let tries = 0; tries < MAX_POLICIES; tries++) {
      const id = cursor;
      cursor = cursor >= MAX_POLICIES ? 1 : cursor + 1;
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
    throw new CompileError(`no free policy id: ${MAX_POLICIES} are live (old and new revision together)`);
  };
  for (const p of all) {
    if (!ids.policies[p.name]) ids.policies[p.name] = { id: allocate(), hash: hashes.get(p.name)! };
  }
  ids.next_policy_id = cursor;

  const rules: Record<number, RuleInfo> = {};
  const gaps = new Set<string>();
  for (const p of all) {
    const id = ids.policies[p.name]!.id;
    const b = body(p);
    const content: PolicyContent = { loopback: b.loopback, rules: [], resolvers: new Map(), hosts: [] };
    for (const r of b.rules) {
      const rid = ruleId(id, r.index);
      content.rules.push({ rule_id: rid, cidr: r.cidr, ports: r.ports, proto: r.proto });
      rules[rid] = { policy: p.name, kind: 'cidr', index: r.index, text: r.cidr };
    }
    for (const h of b.hosts) {
      const rid = ruleId(id, h.index);
      content.hosts.push(hostEntry(rid, h.host, h.ports, h.proto));
      rules[rid] = { policy: p.name, kind: 'host', index: h.index, text: h.host };
    }
    // The kernel fills its name cache only from answers of the policy's own resolvers (or in
    // learn mode), so host rules with no resolver can never match: say so rather than hide it.
    if (b.hosts.length && b.resolvers.length === 0 && p.mode === 'enforce') {
      gaps.add(`policy ${p.name}: host rules take effect only for names resolved through the policy's resolvers, and it lists none (add resolvers: e.g. [127.0.0.11] for Docker's DNS)`);
    }
    b.resolvers.forEach((addr, j) => {
      const rid = ruleId(id, p.egress.allow.length + j);
      content.resolvers.set(addr, rid);
      rules[rid] = { policy: p.name, kind: 'resolver', index: j, text: addr };
    });
    state.policies.set(id, content);
    state.written.set(id, { rules: content.rules, resolvers: content.resolvers, hosts: content.hosts });
  }

  const assignments: Record<string, string | null> = {};
  for (const w of input.workloads) {
    const p = selectPolicy(doc.policies, w);
    assignments[w.cgroup_id] = p?.name ?? null;
    // No entry means the default: keeping the map small and the default a single flip.
    if (p) state.cgroups.set(w.cgroup_id, { policy_id: ids.policies[p.name]!.id, mode: p.mode as PolicyMode });
  }
  for (const pin of input.pinned ?? []) {
    const id = ids.policies[pin.policy.name]!.id;
    for (const cg of pin.cgroups) {
      state.cgroups.set(cg, { policy_id: id, mode: pin.policy.mode as PolicyMode });
      assignments[cg] = pin.policy.name;
    }
  }
  for (const [cg, exp] of input.bypass ?? []) state.bypass.set(cg, exp);
  return { state, ids, rules, assignments, gaps: [...gaps] };
}
