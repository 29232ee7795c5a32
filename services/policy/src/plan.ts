// Desired vs actual map state → the ordered operations that get from one to the other without a
// window: at every point between two operations, each (cgroup, destination) gets the verdict of
// either the old or the new state (plan.test.ts proves it on the model). The order:
//   1. write every new policy completely (CIDR rules, host rules, resolvers, then its `policies`
//      entry) — no cgroup references its id yet, so nothing can see it half-written; host rules
//      are keyed by policy id, so the new policy's host rules exist before any flip to it and the
//      old policy's stay until its `policy-del` (after the grace period) takes them along;
//   2. flips, each one atomic 8-byte map update:
//        a. bypass entries that appear or change (a bypassed cgroup ignores the flips after it),
//        b. cgroup entries that appear or change,
//        c. the default (cgroups without an entry, in old and new alike),
//        d. cgroup entries that disappear (after c, so they fall to the *new* default),
//        e. bypass entries that disappear (after b, so they uncover the *new* policy);
//   3. delete policies nothing references any more.
// `sluice-bpf apply` runs each batch in its own fixed order (HELPER_ORDER, bpf/src/apply.c), so the
// plan is cut into batches whose helper order is this order; each batch ends with `commit`.
import { DENY_ALL_POLICY, type MapState, type Op, type PolicyContent } from './model.ts';
import { policySignature } from './signature.ts';

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

/** Same meaning for the kernel (rule spelling and ids of covered ranges aside). */
export function samePolicy(a: PolicyContent | undefined, b: PolicyContent): boolean {
  return a !== undefined && policySignature(a) === policySignature(b);
}

/** The order in which the helper executes the operations of one batch (bpf/src/apply.c run_batch). */
export const HELPER_ORDER: Record<Op['op'], number> = {
  rule: 0,
  host: 1,
  resolver: 2,
  policy: 3,
  timeouts: 4,
  default: 5,
  cgroup: 6,
  bypass: 7,
  'cgroup-del': 8,
  'bypass-del': 9,
  'policy-del': 10,
};

export function helperOrder(batch: readonly Op[]): Op[] {
  return [...batch].sort((a, b) => HELPER_ORDER[a.op] - HELPER_ORDER[b.op]);
}

/** Policy ids a state references: the default and every cgroup entry. */
export function referenced(s: MapState): Set<number> {
  const ids = new Set<number>([s.default.policy_id]);
  for (const e of s.cgroups.values()) ids.add(e.policy_id);
  return ids;
}

export function plan(actual: MapState, desired: MapState): Op[] {
  return planBatches(actual, desired).flat();
}

export function planBatches(actual: MapState, desired: MapState): Op[][] {
  const repair: Op[] = [];
  const write: Op[] = [];
  const flip: Op[] = [];
  const finish: Op[] = [];
  const live = referenced(actual);

  // 1. new (or repaired, unreferenced) policies, complete before anything can point at them.
  const dirty: number[] = [];
  for (const [id, want] of desired.policies) {
    if (id === DENY_ALL_POLICY) continue;
    const have = actual.policies.get(id);
    const written = actual.written.get(id);
    // What lookups see is what was written; the `policies` entry only says it is complete.
    const current = have && written ? { loopback: have.loopback, ...written } : undefined;
    if (current && samePolicy(current, want)) continue;
    // Live and different, or entries without a marker (the helper can only delete marked ids):
    // the caller recompiles so the policy gets another id.
    if (live.has(id) || (written && !have)) {
      dirty.push(id);
      continue;
    }
    // Drift in an unreferenced policy: clear the id first (its own batch: the helper refuses to
    // define an id that exists).
    if (have) repair.push({ op: 'policy-del', policy_id: id });
    for (const rule of want.rules) write.push({ op: 'rule', policy_id: id, rule });
    for (const rule of want.hosts) write.push({ op: 'host', policy_id: id, rule });
    for (const [addr, rule_id] of want.resolvers) write.push({ op: 'resolver', policy_id: id, rule_id, addr });
    write.push({ op: 'policy', policy_id: id, loopback: want.loopback });
  }
  if (dirty.length) {
    throw new PlanError(`live policy ids ${dirty.join(', ')} differ from their compiled content`, dirty);
  }

  // Node-wide flow timing changes no verdict: it rides with the writes.
  const t = desired.timeouts;
  if (actual.timeouts.active_ms !== t.active_ms || actual.timeouts.udp_idle_ms !== t.udp_idle_ms) {
    write.push({ op: 'timeouts', active_ms: t.active_ms, udp_idle_ms: t.udp_idle_ms });
  }

  // 2. flips.
  for (const [cg, exp] of desired.bypass) {
    if (actual.bypass.get(cg) !== exp) write.push({ op: 'bypass', cgroup_id: cg, expires_boot_ns: exp });
  }
  for (const [cg, e] of desired.cgroups) {
    const have = actual.cgroups.get(cg);
    if (!have || have.policy_id !== e.policy_id || have.mode !== e.mode) {
      flip.push({ op: 'cgroup', cgroup_id: cg, policy_id: e.policy_id, mode: e.mode });
    }
  }
  if (actual.default.policy_id !== desired.default.policy_id || actual.default.mode !== desired.default.mode) {
    finish.push({ op: 'default', policy_id: desired.default.policy_id, mode: desired.default.mode });
  }
  for (const cg of actual.cgroups.keys()) if (!desired.cgroups.has(cg)) finish.push({ op: 'cgroup-del', cgroup_id: cg });
  for (const cg of actual.bypass.keys()) if (!desired.bypass.has(cg)) finish.push({ op: 'bypass-del', cgroup_id: cg });

  // 3. garbage: policies that nothing references now.
  for (const id of actual.policies.keys()) {
    if (id !== DENY_ALL_POLICY && !desired.policies.has(id)) finish.push({ op: 'policy-del', policy_id: id });
  }
  // Each batch's helper order equals the order above: write (rules, resolvers, markers, then
  // bypasses), flip cgroups, then default, deletions, garbage.
  return [repair, write, flip, finish].filter((b) => b.length > 0);
}
