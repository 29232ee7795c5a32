// A model of the pinned policy maps and of the `sluice-bpf apply` operations that change them
// (bpf/map_types.h, bpf/src/apply_parse.c). The compiler produces a MapState, the planner turns two
// MapStates into Ops, and the property test replays Ops one by one on this model: what the kernel
// would see between any two operations of a batch.
import { hostPatternKey, type PolicyMode, type PortRange, type Proto } from '@sluice/contracts';

/** Reserved by the kernel: holds no rules, so it denies everything (the fail-closed default). */
export const DENY_ALL_POLICY = 0;

export interface CidrRuleEntry {
  rule_id: number;
  /** Canonical CIDR text (IPv4 or IPv6), as the helper accepts it. */
  cidr: string;
  ports: PortRange[];
  proto: Proto;
}

export type HostMatch = 'exact' | 'one' | 'any';

export interface HostRuleEntry {
  rule_id: number;
  /** The kernel key: match kind and the name hash of the base (u64, decimal), as `dump host_rules` shows. */
  match: HostMatch;
  hash: string;
  /**
   * The pattern as the compiler emits it (the helper hashes it). Absent for entries read back
   * from the maps: the kernel keeps only the hash, which is all a lookup needs.
   */
  pattern?: string;
  ports: PortRange[];
  proto: Proto;
}

/** A host rule entry for a canonical pattern (`api.x`, `*.x`, `**.x`), keyed as the kernel keys it. */
export function hostEntry(rule_id: number, pattern: string, ports: PortRange[], proto: Proto): HostRuleEntry {
  const k = hostPatternKey(pattern);
  return { rule_id, match: k.match, hash: k.hash.toString(), pattern, ports, proto };
}

export interface PolicyContent {
  loopback: boolean;
  rules: CidrRuleEntry[];
  /** Canonical address → rule id. */
  resolvers: Map<string, number>;
  hosts: HostRuleEntry[];
}

/** Written rules of one policy id: what lookups see, whether or not the policy marker exists. */
export interface WrittenRules {
  rules: CidrRuleEntry[];
  resolvers: Map<string, number>;
  hosts: HostRuleEntry[];
}

/** Flow record timing (config map), node-wide. The kernel's 0 means its default, shown resolved. */
export interface FlowTimeouts {
  active_ms: number;
  udp_idle_ms: number;
}

/** bpf README: `timeouts` defaults, 5 min active timeout (as IPFIX), 10 s UDP idle window. */
export const DEFAULT_TIMEOUTS: FlowTimeouts = { active_ms: 300_000, udp_idle_ms: 10_000 };

export interface CgroupEntry {
  policy_id: number;
  mode: PolicyMode;
}

export interface MapState {
  default: CgroupEntry;
  /** Policy ids whose `policies` entry exists (written last: the policy is complete). */
  policies: Map<number, PolicyContent>;
  /** Rules and resolvers written for a policy id, complete or not (what lookups actually see). */
  written: Map<number, WrittenRules>;
  /** cgroup id (u64 decimal) → entry. */
  cgroups: Map<string, CgroupEntry>;
  /** cgroup id → absolute CLOCK_BOOTTIME expiry in ns. */
  bypass: Map<string, bigint>;
  timeouts: FlowTimeouts;
}

export type Op =
  | { op: 'rule'; policy_id: number; rule: CidrRuleEntry }
  | { op: 'host'; policy_id: number; rule: HostRuleEntry }
  | { op: 'timeouts'; active_ms: number; udp_idle_ms: number }
  | { op: 'resolver'; policy_id: number; rule_id: number; addr: string }
  | { op: 'policy'; policy_id: number; loopback: boolean }
  | { op: 'default'; policy_id: number; mode: PolicyMode }
  | { op: 'cgroup'; cgroup_id: string; policy_id: number; mode: PolicyMode }
  | { op: 'bypass'; cgroup_id: string; expires_boot_ns: bigint }
  | { op: 'cgroup-del'; cgroup_id: string }
  | { op: 'bypass-del'; cgroup_id: string }
  | { op: 'policy-del'; policy_id: number };

export function emptyState(): MapState {
  return {
    default: { policy_id: DENY_ALL_POLICY, mode: 'enforce' },
    policies: new Map(),
    written: new Map(),
    cgroups: new Map(),
    bypass: new Map(),
    timeouts: { ...DEFAULT_TIMEOUTS },
  };
}

export function cloneState(s: MapState): MapState {
  const written = new Map<number, WrittenRules>();
  for (const [id, w] of s.written) written.set(id, { rules: [...w.rules], resolvers: new Map(w.resolvers), hosts: [...w.hosts] });
  return {
    default: { ...s.default },
    policies: new Map(s.policies),
    written,
    cgroups: new Map(s.cgroups),
    bypass: new Map(s.bypass),
    timeouts: { ...s.timeouts },
  };
}

/** What one helper operation does to the maps (in place). */
export function applyOp(s: MapState, op: Op): void {
  const slot = (id: number) => {
    let w = s.written.get(id);
    if (!w) s.written.set(id, (w = { rules: [], resolvers: new Map(), hosts: [] }));
    return w;
  };
  switch (op.op) {
    case 'rule': {
      const w = slot(op.policy_id);
      w.rules = [...w.rules.filter((r) => r.rule_id !== op.rule.rule_id), op.rule];
      return;
    }
    case 'host': {
      const w = slot(op.policy_id);
      w.hosts = [...w.hosts.filter((r) => r.rule_id !== op.rule.rule_id), op.rule];
      return;
    }
    case 'timeouts':
      s.timeouts = { active_ms: op.active_ms, udp_idle_ms: op.udp_idle_ms };
      return;
    case 'resolver':
      slot(op.policy_id).resolvers.set(op.addr, op.rule_id);
      return;
    case 'policy': {
      const w = slot(op.policy_id);
      s.policies.set(op.policy_id, { loopback: op.loopback, rules: w.rules, resolvers: w.resolvers, hosts: w.hosts });
      return;
    }
    case 'default':
      s.default = { policy_id: op.policy_id, mode: op.mode };
      return;
    case 'cgroup':
      s.cgroups.set(op.cgroup_id, { policy_id: op.policy_id, mode: op.mode });
      return;
    case 'bypass':
      s.bypass.set(op.cgroup_id, op.expires_boot_ns);
      return;
    case 'cgroup-del':
      s.cgroups.delete(op.cgroup_id);
      return;
    case 'bypass-del':
      s.bypass.delete(op.cgroup_id);
      return;
    case 'policy-del':
      s.policies.delete(op.policy_id);
      s.written.delete(op.policy_id);
      return;
  }
}

/** The helper's line protocol (bpf/src/apply_parse.c). */
const portsText = (ports: readonly PortRange[]) => ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');

export function formatOp(op: Op): string {
  switch (op.op) {
    case 'rule':
      return `rule ${op.policy_id} ${op.rule.rule_id} ${op.rule.cidr} ${portsText(op.rule.ports)} ${op.rule.proto}`;
    case 'host':
      // The helper hashes the pattern itself; only compiled entries (which carry it) are written.
      if (op.rule.pattern === undefined) throw new Error(`host rule ${op.rule.rule_id} has no pattern (read back from the maps?)`);
      return `host ${op.policy_id} ${op.rule.rule_id} ${op.rule.pattern} ${portsText(op.rule.ports)} ${op.rule.proto}`;
    case 'timeouts':
      return `timeouts ${op.active_ms} ${op.udp_idle_ms}`;
    case 'resolver':
      return `resolver ${op.policy_id} ${op.rule_id} ${op.addr}`;
    case 'policy':
      return `policy ${op.policy_id}${op.loopback ? ' loopback' : ''}`;
    case 'default':
      return `default ${op.policy_id} ${op.mode}`;
    case 'cgroup':
      return `cgroup ${op.cgroup_id} ${op.policy_id} ${op.mode}`;
    case 'bypass':
      return `bypass ${op.cgroup_id} @${op.expires_boot_ns}`;
    case 'cgroup-del':
      return `cgroup-del ${op.cgroup_id}`;
    case 'bypass-del':
      return `bypass-del ${op.cgroup_id}`;
    case 'policy-del':
      return `policy-del ${op.policy_id}`;
  }
}
