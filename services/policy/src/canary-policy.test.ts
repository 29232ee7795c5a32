import { describe, expect, it } from 'vitest';
import { PolicyDocument } from '@sluice/contracts';
import { CANARY_POLICY_NAME, canaryPlan, canaryPolicy, previousCanaryPort } from './canary-policy.ts';
import { compile } from './compile.ts';
import { desiredState } from './desired.ts';
import { formatOp } from './model.ts';

const doc = PolicyDocument.parse({
  version: 1,
  policies: [{ name: 'a', match: { agent: 'canary' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443] }] } }],
});
const pinned = [{ policy: canaryPolicy(4000), cgroups: ['77'] }];

describe('the canary policy', () => {
  it('is loopback-off with one TCP port on 127.0.0.1, so both verdicts come from the CIDR rules', () => {
    const p = canaryPolicy(4000);
    expect(p).toMatchObject({ name: CANARY_POLICY_NAME, mode: 'enforce', loopback: false });
    expect(p.egress.allow).toHaveLength(1);
    expect(p.egress.allow[0]).toMatchObject({ cidr: { text: '127.0.0.1/32' }, ports: [{ from: 4000, to: 4000 }], proto: 'tcp' });
  });

  it('expects the default to deny the allowed listener in enforce mode and let it through in learn mode', () => {
    expect(canaryPlan({ allowed: 1, denied: 2 }, 'enforce').default).toEqual([{ dst: '127.0.0.1', port: 1, expect: 'denied' }]);
    expect(canaryPlan({ allowed: 1, denied: 2 }, 'learn').default[0]!.expect).toBe('allowed');
  });

  it('is pinned to its cgroup: compiled and assigned there, never selected by labels', () => {
    const c = compile({ document: doc, workloads: [{ cgroup_id: '5', agent: 'canary' }], pinned });
    const id = c.ids.policies[CANARY_POLICY_NAME]!.id;
    expect(c.state.cgroups.get('77')).toEqual({ policy_id: id, mode: 'enforce' });
    expect(c.state.cgroups.get('5')!.policy_id).toBe(c.ids.policies.a!.id);
    expect(c.state.policies.get(id)).toMatchObject({ loopback: false, rules: [{ cidr: '127.0.0.1/32' }] });
  });

  it('keeps its id from run to run, and yields it when a revision gave the id to a document policy', () => {
    const first = compile({ document: doc, workloads: [], pinned });
    const again = compile({ document: doc, previous: first.ids, present: first.state.policies.keys(), workloads: [], pinned });
    expect(again.ids.policies[CANARY_POLICY_NAME]).toEqual(first.ids.policies[CANARY_POLICY_NAME]);
    const canaryId = first.ids.policies[CANARY_POLICY_NAME]!.id;
    const clash = { ...first.ids, policies: { ...first.ids.policies, a: { ...first.ids.policies.a!, id: canaryId } } };
    const c = compile({ document: doc, previous: clash, workloads: [], pinned });
    expect(c.ids.policies.a!.id).toBe(canaryId);
    expect(c.ids.policies[CANARY_POLICY_NAME]!.id).not.toBe(canaryId);
  });

  it('desiredState installs the canary entry, counts it as explained (no orphan), and drops it when the cgroup is gone', () => {
    const empty = compile({ document: doc, workloads: [] });
    const d = desiredState({ document: doc, ids: empty.ids, workloads: [], pinned, bypasses: [], actual: empty.state, cgroupExists: () => true, nowMs: 0, bootOffsetNs: 0n });
    const ops = d.batches.flat().map(formatOp);
    expect(ops.some((o) => /^rule \d+ \d+ 127\.0\.0\.1\/32 4000 tcp$/.test(o))).toBe(true);
    expect(ops.some((o) => /^cgroup 77 \d+ enforce$/.test(o))).toBe(true);
    const installed = d.compiled.state;
    const again = desiredState({ document: doc, ids: d.compiled.ids, workloads: [], pinned, bypasses: [], actual: installed, cgroupExists: () => true, nowMs: 0, bootOffsetNs: 0n });
    expect(again.batches).toEqual([]);
    expect(again.orphans).toEqual([]);
    const gone = desiredState({ document: doc, ids: d.compiled.ids, workloads: [], pinned, bypasses: [], actual: installed, cgroupExists: () => false, nowMs: 0, bootOffsetNs: 0n });
    expect(gone.gone).toEqual(['77']);
    expect(gone.batches.flat().map(formatOp)).toContain('cgroup-del 77');
  });

  it("reads back the allowed port of a previous run's canary policy, and nothing from any other policy", () => {
    const c = compile({ document: doc, workloads: [{ cgroup_id: '5', agent: 'canary' }], pinned });
    expect(previousCanaryPort(c.state, '77')).toBe(4000);
    expect(previousCanaryPort(c.state, '5')).toBeUndefined();
    expect(previousCanaryPort(c.state, '99')).toBeUndefined();
    expect(previousCanaryPort(undefined, '77')).toBeUndefined();
  });
});
