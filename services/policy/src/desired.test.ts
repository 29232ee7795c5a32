import { describe, expect, it } from 'vitest';
import { PolicyDocument } from '@sluice/contracts';
import { compile } from './compile.ts';
import { desiredState, wallToBootNs } from './desired.ts';
import { formatOp, type MapState } from './model.ts';

const doc = PolicyDocument.parse({
  version: 1,
  policies: [{ name: 'a', match: { agent: 'a1' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443] }] } }],
});

const ids = compile({ document: doc, workloads: [] }).ids;

function actualWith(entries: Record<string, number>): MapState {
  const c = compile({ document: doc, previous: ids, workloads: [] });
  for (const [cg, id] of Object.entries(entries)) c.state.cgroups.set(cg, { policy_id: id, mode: 'enforce' });
  return c.state;
}

describe('desiredState', () => {
  const base = { document: doc, ids, bypasses: [], nowMs: 1_000_000, bootOffsetNs: -5_000_000_000n };

  it('keeps entries of live cgroups nobody explained (orphans) and removes those of gone cgroups', () => {
    const actual = actualWith({ '11': 1, '12': 1 });
    const d = desiredState({ ...base, actual, workloads: [], cgroupExists: (id) => id === '11' });
    expect(d.orphans).toEqual(['11']);
    expect(d.gone).toEqual(['12']);
    expect(d.batches.flat().map(formatOp)).toEqual(['cgroup-del 12']);
  });

  it('removes the entry of a destroyed container even while its cgroup directory lingers', () => {
    const actual = actualWith({ '15': 1 });
    const d = desiredState({ ...base, actual, workloads: [], retired: new Set(['15']), cgroupExists: () => true });
    expect(d.orphans).toEqual([]);
    expect(d.batches.flat().map(formatOp)).toEqual(['cgroup-del 15']);
  });

  it('treats a known container whose cgroup vanished as gone (missed destroy)', () => {
    const actual = actualWith({ '21': 1 });
    const d = desiredState({ ...base, actual, workloads: [{ cgroup_id: '21', agent: 'a1' }], cgroupExists: () => false });
    expect(d.gone).toEqual(['21']);
    expect(d.batches.flat().map(formatOp)).toEqual(['cgroup-del 21']);
  });

  it('turns active bypass records into per-cgroup kernel expiries; expired ones into nothing', () => {
    const actual = actualWith({});
    const rec = (agent: string, expires: number, project?: string) => ({
      id: agent + expires, agent, ...(project ? { project } : {}), expires_at: new Date(expires).toISOString(),
      actor: 'x', reason: 'y', created_at: new Date(0).toISOString(),
    });
    const d = desiredState({
      ...base,
      actual,
      workloads: [{ cgroup_id: '31', agent: 'a1', project: 'p' }, { cgroup_id: '32', agent: 'a1', project: 'q' }, { cgroup_id: '33', agent: 'a2' }],
      bypasses: [rec('a1', 2_000_000, 'p'), rec('a2', 999_000)],
      cgroupExists: () => true,
    });
    expect([...d.compiled.state.bypass]).toEqual([['31', wallToBootNs(2_000_000, base.bootOffsetNs)]]);
    expect(wallToBootNs(2_000_000, base.bootOffsetNs)).toBe(2_000_000n * 1_000_000n - 5_000_000_000n);
  });

  it('re-allocates a policy whose id holds other content in the maps while in use', () => {
    const first = compile({ document: doc, workloads: [{ cgroup_id: '41', agent: 'a1' }] });
    const actual = first.state;
    // Someone (a bug, a hand edit) put other rules under the id the revision names.
    const id = first.ids.policies.a!.id;
    actual.written.get(id)!.rules = [{ rule_id: 1, cidr: '0.0.0.0/0', ports: [{ from: 1, to: 65535 }], proto: 'any' }];
    actual.policies.set(id, { ...actual.policies.get(id)!, rules: actual.written.get(id)!.rules });
    const d = desiredState({ ...base, ids: first.ids, actual, workloads: [{ cgroup_id: '41', agent: 'a1' }], cgroupExists: () => true });
    expect(d.reallocated).toEqual([id]);
    const newId = d.compiled.ids.policies.a!.id;
    expect(newId).not.toBe(id);
    expect(d.batches.flat().map(formatOp)).toEqual([
      `rule ${newId} ${newId * 4096 + 1} 10.0.0.0/8 443 tcp`,
      `policy ${newId} loopback`,
      `cgroup 41 ${newId} enforce`,
      `policy-del ${id}`,
    ]);
  });
});
