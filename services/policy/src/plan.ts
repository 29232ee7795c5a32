// Desired vs actual map state → the ordered operations that get from one to the other without a
// window: at every point between two operations, each (cgroup, destination) gets the verdict of
// either the old or the new state (plan.test.ts proves it on the model). The order:
//   1. write every new policy completely (rules, resolvers, then its `policies` entry) — no cgroup
//      references its id yet, so nothing can see it half-written;
//   2. flips, each one atomic 8-byte map update:
//        a. bypass entries that appear or change (a bypassed cgroup ignores the flips after it),
//        b. cgroup entries that appear or change,
//        c. the default (cgroups without an entry, in old and new alike),
//        d. cgroup entries that disappear (after c, so they fall to the *new* default),
//        e. bypass entries that disappear (after b, so they uncover the *new* policy);
//   3. delete policies nothing references any more.
import { DENY_ALL_POLICY, type CidrRuleEntry, type MapState, type Op, type PolicyContent } from './model.ts';

export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    message: string,
    /** Live policy ids whose content differs from what they should hold: recompile avoiding them. */
    readonly dirty: number[],
  ) {
    super(message);
  }
}

const ruleKey = (r: CidrRuleEntry) =>
  `${r.rule_id} ${r.cidr} ${r.proto} ${r.ports.map((p) => `${p.from}-${p.to}`).join(',')}`;

export function samePolicy(a: PolicyContent | undefined, b: PolicyContent): boolean {
  if (!a || a.loopback !== b.loopback || a.rules.length !== b.rules.length || a.resolvers.size !== b.resolvers.size) {
    return false;
  }
  const ar = new Set(a.rules.map(ruleKey));
  if (!b.rules.every((r) => ar.has(ruleKey(r)))) return false;
  for (const [addr, id] of b.resolvers) if (a.resolvers.get(addr) !== id) return false;
  return true;
}

/** Policy ids a state references: the default and every cgroup entry. */
export function referenced(s: MapState): Set<number> {
  const ids = new Set<number>([s.default.policy_id]);
  for (const e of s.cgroups.values()) ids.add(e.policy_id);
  return ids;
}

export function plan(actual: MapState, desired: MapState): Op[] {
  const ops: Op[] = [];
  const live = referenced(actual);

  // 1. new (or repaired, unreferenced) policies, complete before anything can point at them.
  const dirty: number[] = [];
  for (const [id, want] of desired.policies) {
    if (id === DENY_ALL_POLICY) continue;
    const have = actual.policies.get(id);
    const written = actual.written.get(id);
    // What lookups see is what was written; the `policies` entry only says it is complete.
    const current = have && written ? { loopback: have.loopback, rules: written.rules, resolvers: written.resolvers } : undefined;
    if (current && samePolicy(current, want)) continue;
    if (live.has(id)) {
      dirty.push(id);
      continue;
    }
    // Leftovers of an interrupted apply, or drift: clear the id first; nothing references it.
    if (have || written) ops.push({ op: 'policy-del', policy_id: id });
    for (const rule of want.rules) ops.push({ op: 'rule', policy_id: id, rule });
    for (const [addr, rule_id] of want.resolvers) ops.push({ op: 'resolver', policy_id: id, rule_id, addr });
    ops.push({ op: 'policy', policy_id: id, loopback: want.loopback });
  }
  if (dirty.length) {
    throw new PlanError(`live policy ids ${dirty.join(', ')} differ from their compiled content`, dirty);
  }

  // 2. flips.
  for (const [cg, exp] of desired.bypass) {
    if (actual.bypass.get(cg) !== exp) ops.push({ op: 'bypass', cgroup_id: cg, expires_boot_ns: exp });
  }
  for (const [cg, e] of desired.cgroups) {
    const have = actual.cgroups.get(cg);
    if (!have || have.policy_id !== e.policy_id || have.mode !== e.mode) {
      ops.push({ op: 'cgroup', cgroup_id: cg, policy_id: e.policy_id, mode: e.mode });
    }
  }
  if (actual.default.policy_id !== desired.default.policy_id || actual.default.mode !== desired.default.mode) {
    ops.push({ op: 'default', policy_id: desired.default.policy_id, mode: desired.default.mode });
  }
  for (const cg of actual.cgroups.keys()) if (!desired.cgroups.has(cg)) ops.push({ op: 'cgroup-del', cgroup_id: cg });
  for (const cg of actual.bypass.keys()) if (!desired.bypass.has(cg)) ops.push({ op: 'bypass-del', cgroup_id: cg });

  // 3. garbage: complete or half-written policies that nothing references now.
  const stale = new Set([...actual.policies.keys(), ...actual.written.keys()]);
  for (const id of stale) {
    if (id !== DENY_ALL_POLICY && !desired.policies.has(id)) ops.push({ op: 'policy-del', policy_id: id });
  }
  return ops;
}
