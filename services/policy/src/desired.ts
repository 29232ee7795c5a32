// The state this node's maps should hold, from everything the policy service knows: the current
// revision, the containers on this node, active bypasses, and what the maps hold now. Pure.
//
// What the service does *not* know is kept, not guessed: a cgroup entry whose cgroup still exists
// but that no lifecycle message explained (a restart before the attributor's snapshot, or a
// `sluice run` cgroup) keeps its entry and is reported as an orphan, so a restart never loosens or
// tightens anyone. Entries of cgroups that no longer exist are removed.
import { PolicyDocument, type BypassRecord } from '@sluice/contracts';
import { compile, type Compiled, type PinnedPolicy, type PolicyIdTable, type Workload } from './compile.ts';
import type { MapState } from './model.ts';
import { PlanError, planBatches } from './plan.ts';
import type { Op } from './model.ts';

export const EMPTY_DOCUMENT: PolicyDocument = PolicyDocument.parse({ version: 1 });

export interface DesiredInput {
  document?: PolicyDocument | undefined;
  ids?: PolicyIdTable | undefined;
  workloads: Iterable<Workload>;
  /** Policies the service installs for fixed cgroups of its own (the enforcement canary). */
  pinned?: readonly PinnedPolicy[];
  bypasses: readonly BypassRecord[];
  actual: MapState;
  /** cgroup ids whose container died or was destroyed (their entries go even if the directory lingers). */
  retired?: ReadonlySet<string>;
  /** Does a cgroup with this id exist on the node now? */
  cgroupExists: (cgroupId: string) => boolean;
  nowMs: number;
  /** CLOCK_BOOTTIME ns minus wall-clock ns, measured once (bypass expiries cross this bridge). */
  bootOffsetNs: bigint;
}

export interface DesiredResult {
  compiled: Compiled;
  batches: Op[][];
  /** cgroup ids with a map entry, alive, not explained by any lifecycle message. */
  orphans: string[];
  /** cgroup ids whose entries are removed because the cgroup is gone. */
  gone: string[];
  /** Policy ids that had to be re-allocated because the maps hold other content under them. */
  reallocated: number[];
}

export function wallToBootNs(wallMs: number, bootOffsetNs: bigint): bigint {
  return BigInt(Math.round(wallMs)) * 1_000_000n + bootOffsetNs;
}

/** Keeps a cgroup's entry as the maps hold it, with the policy it runs under (or the garbage step would delete it). */
export function keepEntry(actual: MapState, desired: MapState, cg: string): void {
  const entry = actual.cgroups.get(cg);
  if (!entry) return;
  desired.cgroups.set(cg, entry);
  const p = actual.policies.get(entry.policy_id);
  if (p && !desired.policies.has(entry.policy_id)) {
    desired.policies.set(entry.policy_id, p);
    desired.written.set(entry.policy_id, { rules: p.rules, resolvers: p.resolvers, hosts: p.hosts });
  }
}

export function desiredState(input: DesiredInput): DesiredResult {
  const all = [...input.workloads];
  // A container whose cgroup vanished without a destroy message (missed event) is gone too.
  const workloads = all.filter((w) => input.cgroupExists(w.cgroup_id));
  // Pinned cgroups that exist are explained by the service itself; gone ones lose their entries.
  const pinned = (input.pinned ?? []).map((p) => ({ ...p, cgroups: p.cgroups.filter((cg) => input.cgroupExists(cg)) }));
  const known = new Set([...workloads.map((w) => w.cgroup_id), ...pinned.flatMap((p) => p.cgroups)]);
  const vanished = all.filter((w) => !known.has(w.cgroup_id)).map((w) => w.cgroup_id);
  const bypass = new Map<string, bigint>();
  for (const b of input.bypasses) {
    const until = Date.parse(b.expires_at);
    if (until <= input.nowMs) continue;
    const ns = wallToBootNs(until, input.bootOffsetNs);
    for (const w of workloads) {
      if (w.agent !== b.agent || (b.project !== undefined && w.project !== b.project)) continue;
      const prev = bypass.get(w.cgroup_id);
      if (prev === undefined || ns > prev) bypass.set(w.cgroup_id, ns);
    }
  }

  const orphans: string[] = [];
  const gone: string[] = [];
  const build = (ids: PolicyIdTable | undefined): Compiled => {
    const c = compile({
      document: input.document ?? EMPTY_DOCUMENT,
      ...(ids ? { previous: ids } : {}),
      present: [...input.actual.policies.keys(), ...input.actual.written.keys()],
      workloads,
      pinned,
      bypass,
    });
    orphans.length = 0;
    gone.length = 0;
    for (const [cg, entry] of input.actual.cgroups) {
      if (known.has(cg)) continue;
      if (!input.cgroupExists(cg) || input.retired?.has(cg)) {
        gone.push(cg);
        continue;
      }
      orphans.push(cg);
      keepEntry(input.actual, c.state, cg);
    }
    for (const [cg, exp] of input.actual.bypass) {
      // An unexplained bypass on a live cgroup runs out by itself in the kernel; leave it be.
      if (!known.has(cg) && input.cgroupExists(cg) && !input.retired?.has(cg) && !c.state.bypass.has(cg)) c.state.bypass.set(cg, exp);
    }
    return c;
  };

  let compiled = build(input.ids);
  let reallocated: number[] = [];
  let batches: Op[][];
  try {
    batches = planBatches(input.actual, compiled.state);
  } catch (err) {
    if (!(err instanceof PlanError) || !input.ids) throw err;
    // The maps hold something else under ids the revision chose: allocate those policies afresh.
    reallocated = err.dirty;
    const dirty = new Set(err.dirty);
    const ids: PolicyIdTable = {
      next_policy_id: input.ids.next_policy_id,
      policies: Object.fromEntries(Object.entries(input.ids.policies).filter(([, v]) => !dirty.has(v.id))),
    };
    compiled = build(ids);
    batches = planBatches(input.actual, compiled.state);
  }
  const goneAll = [...new Set([...gone, ...vanished.filter((cg) => input.actual.cgroups.has(cg))])];
  return { compiled, batches, orphans: [...orphans], gone: goneAll, reallocated };
}
