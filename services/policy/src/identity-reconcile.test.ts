import type { IdentitySnapshot, WorkloadIdentity } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import type { Workload } from './compile.ts';
import { repairsFrom, type TableView } from './identity-reconcile.ts';

const id = (cgroup_id: string | undefined, over: Partial<WorkloadIdentity> = {}): WorkloadIdentity => ({
  attribution: 'docker',
  node: 'n1',
  ...(cgroup_id !== undefined ? { cgroup_id } : {}),
  container_id: `c-${cgroup_id}`,
  project: 'p',
  agent: 'a',
  ips: ['172.17.0.2'],
  started_ms: 1_000,
  can_bypass_raw: false,
  ...over,
});

function table(workloads: Workload[], retired: Record<string, number> = {}): TableView {
  const w = new Map(workloads.map((x) => [x.cgroup_id, x]));
  return { workload: (cg) => w.get(cg), retiredAt: (cg) => retired[cg] };
}

describe('identity snapshot repairs', () => {
  it('installs a workload whose start never arrived, as a snapshot lifecycle message', () => {
    const snap: IdentitySnapshot = { node: 'n1', at_ms: 5_000, identities: [id('10'), id('11')] };
    const repairs = repairsFrom(snap, table([{ cgroup_id: '11', project: 'p', agent: 'a' }]), 4_000);
    expect(repairs).toEqual([
      {
        event: 'snapshot',
        time: new Date(5_000).toISOString(),
        node: 'n1',
        attribution: 'docker',
        container_id: 'c-10',
        cgroup_id: '10',
        project: 'p',
        agent: 'a',
        ips: ['172.17.0.2'],
        can_bypass_raw: false,
        started_at: new Date(1_000).toISOString(),
      },
    ]);
  });

  it('corrects labels that differ, and leaves matching ones alone', () => {
    const snap: IdentitySnapshot = { node: 'n1', at_ms: 5_000, identities: [id('10', { agent: 'b' }), id('11')] };
    const repairs = repairsFrom(snap, table([{ cgroup_id: '10', project: 'p', agent: 'a' }, { cgroup_id: '11', project: 'p', agent: 'a' }]), 4_000);
    expect(repairs.map((m) => [m.cgroup_id, m.agent])).toEqual([['10', 'b']]);
  });

  it('does not bring back a cgroup retired after the snapshot was requested, but does one retired before', () => {
    const snap: IdentitySnapshot = { node: 'n1', at_ms: 5_000, identities: [id('10'), id('11')] };
    const repairs = repairsFrom(snap, table([], { '10': 4_500, '11': 3_000 }), 4_000);
    expect(repairs.map((m) => m.cgroup_id)).toEqual(['11']);
  });

  it('ignores identities of another node, without a cgroup, or dead', () => {
    const snap: IdentitySnapshot = { node: 'n1', at_ms: 5_000, identities: [id('10', { node: 'n2' }), id(undefined), id('12', { died_ms: 4_000 })] };
    expect(repairsFrom(snap, table([]), 4_000)).toEqual([]);
  });
});
