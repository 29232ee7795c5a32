// Repairs the container table from the attributor's identity snapshot (IDENTITY_API `snapshot`),
// at start and periodically. Lifecycle messages alone can be lost for good: a `start` the
// attributor failed to publish, or one aged out of SLUICE_CONTROL (30 days) before this service
// restarted and replayed the stream, leaves a running agent on the deny default forever. The
// attributor's cache is the live truth, so asking it for the whole set closes every such gap
// whatever caused it, without a second delivery mechanism to keep consistent.
//
// Only installs and label corrections come from the snapshot. Removals stay with lifecycle
// `die`/`destroy` and with the sync's own check that a cgroup still exists: a snapshot from an
// attributor that has not warmed up yet must not strip a live agent of its policy.
import type { NatsConnection } from '@nats-io/transport-node';
import { IDENTITY_API, lifecycleOf, type ContainerLifecycle, type IdentitySnapshot } from '@sluice/contracts';
import { request, RpcError, type Logger } from '@sluice/runtime';
import type { Workload } from './compile.ts';

export interface TableView {
  workload(cgroupId: string): Workload | undefined;
  /** Local ms when a die/destroy for this cgroup was last handled. */
  retiredAt(cgroupId: string): number | undefined;
}

/**
 * The lifecycle messages (event `snapshot`) the table is missing, for a snapshot requested at
 * `requestedAtMs` (local clock). A cgroup retired after the request went out is not brought back:
 * the snapshot predates its death.
 */
export function repairsFrom(snap: IdentitySnapshot, table: TableView, requestedAtMs: number): ContainerLifecycle[] {
  const out: ContainerLifecycle[] = [];
  for (const id of snap.identities) {
    if (id.node !== snap.node || id.cgroup_id === undefined || id.died_ms !== undefined) continue;
    const retired = table.retiredAt(id.cgroup_id);
    if (retired !== undefined && retired >= requestedAtMs) continue;
    const known = table.workload(id.cgroup_id);
    if (known && known.project === id.project && known.agent === id.agent) continue;
    out.push(lifecycleOf('snapshot', id, snap.at_ms));
  }
  return out;
}

export interface ReconcileDeps {
  nc: NatsConnection;
  node: string;
  table: TableView;
  apply: (m: ContainerLifecycle) => void;
  log: Logger;
  timeoutMs: number;
  /** outcome: ok | unavailable | failed; repaired: messages applied this round. */
  metrics?: { round: (outcome: string) => void; repaired: (n: number) => void };
  now?: () => number;
}

/** One round: ask this node's attributor, apply what the table misses. Never rejects. */
export async function reconcileIdentities(d: ReconcileDeps): Promise<ContainerLifecycle[]> {
  const now = d.now ?? Date.now;
  const requestedAt = now();
  let snap: IdentitySnapshot;
  try {
    snap = await request(d.nc, IDENTITY_API, 'snapshot', { node: d.node }, { timeoutMs: d.timeoutMs });
  } catch (err) {
    const unavailable = err instanceof RpcError && err.code === 'unavailable';
    d.metrics?.round(unavailable ? 'unavailable' : 'failed');
    // The attributor being away is normal at start and during its restarts: lifecycle replay covers.
    d.log[unavailable ? 'info' : 'warn']({ err: (err as Error).message }, 'identity snapshot not available; container table not reconciled this round');
    return [];
  }
  const repairs = repairsFrom(snap, d.table, requestedAt);
  for (const m of repairs) d.apply(m);
  d.metrics?.round('ok');
  if (repairs.length) {
    d.metrics?.repaired(repairs.length);
    d.log.warn(
      { repaired: repairs.map((m) => ({ cgroup_id: m.cgroup_id, project: m.project, agent: m.agent, container_id: m.container_id })) },
      'workloads the lifecycle feed missed, installed from the attributor snapshot',
    );
  }
  return repairs;
}
