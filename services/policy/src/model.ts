// A model of the pinned policy maps and of the `sluice-bpf apply` operations that change them
// (bpf/map_types.h, bpf/src/apply_parse.c). The compiler produces a MapState, the planner turns two
// MapStates into Ops, and the property test replays Ops one by one on this model: what the kernel
// would see between any two operations of a batch.
import type { PolicyMode, PortRange, Proto } from '@sluice/contracts';

/** Reserved by the kernel: holds no rules, so it denies everything (the fail-closed default). */
export const DENY_ALL_POLICY = 0;

export interface CidrRuleEntry {
  rule_id: number;
  /** Canonical CIDR text (IPv4 or IPv6), as the helper accepts it. */
  cidr: string;
  ports: PortRange[];
  proto: Proto;
}

export interface PolicyContent {
  loopback: boolean;
  rules: CidrRuleEntry[];
  /** Canonical address → rule id. */
  resolvers: Map<string, number>;
}

export interface CgroupEntry {
  policy_id: number;
  mode: PolicyMode;
}

export interface MapState {
  default: CgroupEntry;
  /** Policy ids whose `policies` entry exists (written last: the policy is complete). */
  policies: Map<number, PolicyContent>;
  /** Rules and resolvers written for a policy id, complete or not (what lookups actually see). */
  written: Map<number, { rules: CidrRuleEntry[]; resolvers: Map<string, number> }>;
  /** cgroup id (u64 decimal) → entry. */
  cgroups: Map<string, CgroupEntry>;
  /** cgroup id → absolute CLOCK_BOOTTIME expiry in ns. */
  bypass: Map<string, bigint>;
}

export type Op =
  | { op: 'rule'; policy_id: number; rule: CidrRuleEntry }
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
  };
}

export function cloneState(s: MapState): MapState {
  const written = new Map<number, { rules: CidrRuleEntry[]; resolvers: Map<string, number> }>();
  for (const [id, w] of s.written) written.set(id, { rules: [...w.rules], resolvers: new Map(w.resolvers) });
  return {
    default: { ...s.default },
    policies: new Map(s.policies),
    written,
    cgroups: new Map(s.cgroups),
    bypass: new Map(s.bypass),
  };
}

/** What one helper operation does to the maps (in place). */
export function applyOp(s: MapState, op: Op): void {
  const slot = (id: number) => {
    let w = s.written.get(id);
    if (!w) s.written.set(id, (w = { rules: [], resolvers: new Map() }));
    return w;
  };
  switch (op.op) {
    case 'rule': {
      const w = slot(op.policy_id);
      w.rules = [...w.rules.filter((r) => r.rule_id !== op.rule.rule_id), op.rule];
      return;
    }
    case 'resolver':
      slot(op.policy_id).resolvers.set(op.addr, op.rule_id);
      return;
    case 'policy': {
      const w = slot(op.policy_id);
      s.policies.set(op.policy_id, { loopback: op.loopback, rules: w.rules, resolvers: w.resolvers });
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
export function formatOp(op: Op): string {
  switch (op.op) {
    case 'rule': {
      const ports = op.rule.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
      return `rule ${op.policy_id} ${op.rule.rule_id} ${op.rule.cidr} ${ports} ${op.rule.proto}`;
    }
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
