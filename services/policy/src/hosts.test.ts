// Host rules in the map-state model: compile emits them (pattern as written, keyed by the shared
// name hash), evaluate matches them as bpf/decide.h does, the plan writes them under the new
// policy id before the flip and deletes the old ones with their policy, and a read-back (hashes
// only, ranges split) has the same signature as the compiled state.
import { describe, expect, it } from 'vitest';
import { hostPatternKey, PolicyDocument } from '@sluice/contracts';
import { compile } from './compile.ts';
import { evaluate } from './evaluate.ts';
import { applyOp, cloneState, formatOp, type MapState } from './model.ts';
import { plan, planBatches, samePolicy } from './plan.ts';

const docWith = (host: string, extra: object = {}) =>
  PolicyDocument.parse({
    version: 1,
    ...extra,
    policies: [{ name: 'a', match: { agent: 'a1' }, resolvers: ['127.0.0.153'], egress: { allow: [{ host, ports: [443, '8000-8100'] }] } }],
  });
const W = [{ cgroup_id: '7', agent: 'a1' }];
const at = (s: MapState, name: string | undefined, port = 443) => evaluate(s, { cgroup_id: '7', dst: '203.0.113.7', port, proto: 'tcp', ...(name ? { name } : {}) });

describe('host rules', () => {
  it('compiles to host ops with the pattern as written and no gap', () => {
    const c = compile({ document: docWith('*.Example.test'), workloads: W });
    const id = c.ids.policies.a!.id;
    expect(plan(emptyish(), c.state).map(formatOp)).toEqual([
      `host ${id} ${id * 4096 + 1} *.example.test 443,8000-8100 tcp`,
      `resolver ${id} ${id * 4096 + 2} 127.0.0.153`,
      `policy ${id} loopback`,
      `cgroup 7 ${id} enforce`,
    ]);
    expect(c.state.policies.get(id)!.hosts[0]).toMatchObject({ match: 'one', hash: hostPatternKey('*.example.test').hash.toString() });
    expect(c.gaps).toEqual([]);
    expect(c.rules[id * 4096 + 1]).toEqual({ policy: 'a', kind: 'host', index: 0, text: '*.example.test' });
  });

  it('names the gap of host rules without resolvers', () => {
    const d = PolicyDocument.parse({ version: 1, policies: [{ name: 'a', match: { agent: 'a1' }, egress: { allow: [{ host: 'x.test', ports: [443] }] } }] });
    expect(compile({ document: d, workloads: W }).gaps).toEqual([expect.stringMatching(/policy a: host rules take effect only for names resolved through the policy's resolvers/)]);
  });

  it('matches exact, one label and any depth (never the apex), by port, and only with a resolved name', () => {
    const one = compile({ document: docWith('*.example.test'), workloads: W }).state;
    const any = compile({ document: docWith('**.example.test'), workloads: W }).state;
    const exact = compile({ document: docWith('api.example.test'), workloads: W }).state;
    expect(at(one, 'api.example.test')).toBe('ALLOWED');
    expect(at(one, 'a.b.example.test')).toBe('DENIED');
    expect(at(one, 'API.example.test.')).toBe('ALLOWED');
    expect(at(one, 'api.example.test', 22)).toBe('DENIED');
    expect(at(one, 'api.example.test', 8050)).toBe('ALLOWED');
    expect(at(one, undefined)).toBe('DENIED');
    expect(at(any, 'a.b.example.test')).toBe('ALLOWED');
    expect(at(any, 'a.b.c.d.e.f.g.h.i.j.example.test')).toBe('ALLOWED');
    expect(at(any, 'example.test')).toBe('DENIED');
    expect(at(exact, 'api.example.test')).toBe('ALLOWED');
    expect(at(exact, 'www.example.test')).toBe('DENIED');
  });

  it('writes the new policy (with its host rules) before the flip and deletes the old after it', () => {
    const old = compile({ document: docWith('*.example.test'), workloads: W });
    const next = compile({ document: docWith('**.example.test'), previous: old.ids, workloads: W });
    const [o, n] = [old.ids.policies.a!.id, next.ids.policies.a!.id];
    expect(n).not.toBe(o);
    const batches = planBatches(old.state, next.state).map((b) => b.map(formatOp));
    expect(batches).toEqual([
      [`host ${n} ${n * 4096 + 1} **.example.test 443,8000-8100 tcp`, `resolver ${n} ${n * 4096 + 2} 127.0.0.153`, `policy ${n} loopback`],
      [`cgroup 7 ${n} enforce`],
      [`policy-del ${o}`],
    ]);
    // Op by op: api.* stays allowed throughout, a.b.* goes from denied to allowed exactly at the flip.
    const s = cloneState(old.state);
    const seen: string[] = [];
    for (const op of planBatches(old.state, next.state).flat()) {
      applyOp(s, op);
      expect(at(s, 'api.example.test')).toBe('ALLOWED');
      seen.push(at(s, 'a.b.example.test'));
    }
    expect(seen).toEqual(['DENIED', 'DENIED', 'DENIED', 'ALLOWED', 'ALLOWED']);
    expect(s.written.has(o)).toBe(false);
  });

  it('a read-back with hashes only and ranges split is the same policy; a different port is not', () => {
    const c = compile({ document: docWith('**.example.test'), workloads: W });
    const id = c.ids.policies.a!.id;
    const want = c.state.policies.get(id)!;
    const dumped = { ...want, hosts: want.hosts.flatMap((h) => h.ports.map((p) => ({ rule_id: h.rule_id, match: h.match, hash: h.hash, ports: [p], proto: h.proto }))) };
    expect(samePolicy(dumped, want)).toBe(true);
    const wider = { ...dumped, hosts: [...dumped.hosts, { ...dumped.hosts[0]!, ports: [{ from: 22, to: 22 }] }] };
    expect(samePolicy(wider, want)).toBe(false);
    const otherKind = { ...dumped, hosts: dumped.hosts.map((h) => ({ ...h, match: 'one' as const })) };
    expect(samePolicy(otherKind, want)).toBe(false);
  });

  it('sets flow timeouts from the document, and writes nothing when they are the defaults', () => {
    const c = compile({ document: docWith('x.test', { flows: { active_timeout: '1m', udp_idle: '2s' } }), workloads: W });
    expect(plan(emptyish(), c.state).map(formatOp)).toContain('timeouts 60000 2000');
    const d = compile({ document: docWith('x.test'), workloads: W });
    expect(plan(emptyish(), d.state).map(formatOp).filter((l) => l.startsWith('timeouts'))).toEqual([]);
  });
});

function emptyish(): MapState {
  return compile({ document: PolicyDocument.parse({ version: 1 }), workloads: [] }).state;
}

describe('diff output', () => {
  it('shows host map entries with their kernel key, and a flows change', async () => {
    const { describeChange } = await import('./change.ts');
    const before = docWith('*.example.test');
    const after = docWith('**.example.test', { flows: { udp_idle: '2s' } });
    const old = compile({ document: before, workloads: W });
    const next = compile({ document: after, previous: old.ids, workloads: W });
    const c = describeChange({ document: before, revision: 3 }, after, next, plan(old.state, next.state));
    const n = next.ids.policies.a!.id;
    expect(c.map_ops[0]).toBe(`host ${n} ${n * 4096 + 1} **.example.test 443,8000-8100 tcp  # host_rules[policy ${n}, any, name_hash ${hostPatternKey('**.example.test').hash}]`);
    expect(c.rules).toEqual([
      { policy: 'a', change: '-', rule: 'host *.example.test 443,8000-8100 tcp' },
      { policy: 'a', change: '+', rule: 'host **.example.test 443,8000-8100 tcp' },
    ]);
    expect(c.flows).toEqual({ before: 'active_timeout 300000ms udp_idle 10000ms', after: 'active_timeout 300000ms udp_idle 2000ms' });
  });
});
