import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PolicyDocument } from '@sluice/contracts';
import { compile, type Workload } from './compile.ts';
import { evaluate, type Outcome, type Probe } from './evaluate.ts';
import { applyOp, cloneState, emptyState, formatOp, type MapState, type Op } from './model.ts';
import { helperOrder, plan, planBatches, PlanError } from './plan.ts';

const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '192.168.0.0/16', '0.0.0.0/0', '2001:db8::/32', '::/0'];
const PORTS = [53, 80, 443, '8000-8100'] as const;
const DSTS = ['10.1.2.3', '10.1.9.9', '10.200.0.1', '192.168.1.1', '8.8.8.8', '127.0.0.1', '10.0.0.53', '2001:db8::1', '2001:dead::1', '::ffff:10.1.2.3', '::1'];
const PROBE_PORTS = [53, 80, 443, 8050, 22];
const LABELS = { project: ['p1', 'p2'], agent: ['a1', 'a2', 'a3'] };

const HOSTS = ['api.example.test', '*.example.test', '**.example.test', '**.npmjs.org'];
// Names a cgroup may have resolved a destination from (the kernel's DNS cache), probed at an
// address no CIDR but 0.0.0.0/0 covers so host rules decide.
const NAMED_DST = '203.0.113.7';
const NAMES = ['api.example.test', 'a.b.example.test', 'example.test', 'registry.npmjs.org'];

const ports = fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1, maxLength: 2 });
const protoArb = fc.constantFrom('tcp', 'udp', 'any');
const rule = fc.oneof(
  fc.record({ cidr: fc.constantFrom(...CIDRS), ports, proto: protoArb }),
  fc.record({ host: fc.constantFrom(...HOSTS), ports, proto: protoArb }),
);
const selector = fc
  .record({ project: fc.option(fc.constantFrom(...LABELS.project), { nil: undefined }), agent: fc.option(fc.constantFrom(...LABELS.agent), { nil: undefined }) })
  .filter((s) => s.project !== undefined || s.agent !== undefined)
  .map((s) => JSON.parse(JSON.stringify(s)) as { project?: string; agent?: string });
const policy = fc.record({
  match: selector,
  mode: fc.constantFrom('enforce', 'learn'),
  loopback: fc.boolean(),
  resolvers: fc.subarray(['10.0.0.53', '127.0.0.11']),
  egress: fc.record({ allow: fc.array(rule, { maxLength: 3 }) }),
});
const policies = fc
  .uniqueArray(policy, { maxLength: 4, selector: (p) => JSON.stringify(p.match) })
  .map((ps) => ps.map((p, i) => ({ name: `pol-${JSON.stringify(p.match).length}-${i}`, ...p })));
const documentArb = fc
  .record({ default: fc.record({ mode: fc.constantFrom('enforce', 'learn') }), policies })
  .map((d) => PolicyDocument.parse({ version: 1, ...d }));

const workloadsArb = fc.uniqueArray(
  fc.record({
    cgroup_id: fc.constantFrom('101', '102', '103', '104', '105', '106'),
    project: fc.constantFrom(...LABELS.project),
    agent: fc.constantFrom(...LABELS.agent),
  }),
  { selector: (w) => w.cgroup_id, maxLength: 6 },
);
const bypassArb = fc.subarray(['101', '102', '103', '107']);

function probes(cgroups: Iterable<string>): Probe[] {
  const out: Probe[] = [];
  for (const cgroup_id of new Set([...cgroups, '999'])) {
    for (const dst of DSTS) for (const port of PROBE_PORTS) for (const proto of ['tcp', 'udp'] as const) out.push({ cgroup_id, dst, port, proto });
    for (const name of NAMES) for (const port of PROBE_PORTS) for (const proto of ['tcp', 'udp'] as const) out.push({ cgroup_id, dst: NAMED_DST, port, proto, name });
  }
  return out;
}

/** Replays batches the way the helper runs them (its fixed order within a batch), op by op. */
function firstWindowBatched(oldS: MapState, newS: MapState, batches: Op[][], all: Probe[]): string | undefined {
  return firstWindow(oldS, newS, batches.flatMap(helperOrder), all);
}

/** Replays ops one at a time; returns the first probe whose verdict left old ∪ new. */
function firstWindow(oldS: MapState, newS: MapState, ops: Op[], all: Probe[]): string | undefined {
  const before = all.map((p) => evaluate(oldS, p));
  const after = all.map((p) => evaluate(newS, p));
  const s = cloneState(oldS);
  for (const [i, op] of ops.entries()) {
    applyOp(s, op);
    for (const [j, p] of all.entries()) {
      const v: Outcome = evaluate(s, p);
      if (v !== before[j] && v !== after[j]) {
        return `after op ${i} (${formatOp(op)}): ${JSON.stringify(p)} is ${v}, old ${before[j]}, new ${after[j]}`;
      }
    }
  }
  return undefined;
}

const FAR = 10n ** 18n;

describe('plan', () => {
  it('never opens a window (CIDR and host rules): every intermediate verdict is in old ∪ new, and the end state is the new one', () => {
    fc.assert(
      fc.property(documentArb, documentArb, workloadsArb, workloadsArb, bypassArb, bypassArb, (d1, d2, w1, w2, b1, b2) => {
        // A cgroup keeps its labels for its lifetime: the second table reuses the first's labels.
        const labels = new Map(w1.map((w) => [w.cgroup_id, w]));
        const w2fixed: Workload[] = w2.map((w) => labels.get(w.cgroup_id) ?? w);
        const old = compile({ document: d1, workloads: w1, bypass: new Map(b1.map((c) => [c, FAR])) });
        const next = compile({
          document: d2,
          previous: old.ids,
          present: old.state.policies.keys(),
          workloads: w2fixed,
          bypass: new Map(b2.map((c) => [c, FAR + 1n])),
        });
        const batches = planBatches(old.state, next.state);
        const ops = batches.flat();
        const all = probes([...w1, ...w2fixed].map((w) => w.cgroup_id).concat(b1, b2));
        expect(firstWindow(old.state, next.state, ops, all)).toBeUndefined();
        expect(firstWindowBatched(old.state, next.state, batches, all)).toBeUndefined();
        const end = cloneState(old.state);
        for (const op of ops) applyOp(end, op);
        expect(all.map((p) => evaluate(end, p))).toEqual(all.map((p) => evaluate(next.state, p)));
        expect(plan(end, next.state)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('the helper order within one batch would open a window; the batches avoid it', () => {
    // Default learn -> enforce while a cgroup leaves its policy: in one batch the helper would
    // delete the entry after flipping the default; a cgroup *gaining* an entry while the default
    // loosens is the case that needs the cgroup batch before the default.
    const d1 = PolicyDocument.parse({ version: 1, default: { mode: 'enforce' }, policies: [] });
    const d2 = PolicyDocument.parse({ version: 1, default: { mode: 'learn' }, policies: [{ name: 'a', match: { agent: 'a1' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443] }] } }] });
    const w = [{ cgroup_id: '101', agent: 'a1' }];
    const old = compile({ document: d1, workloads: w });
    const next = compile({ document: d2, previous: old.ids, workloads: w });
    const batches = planBatches(old.state, next.state);
    expect(firstWindowBatched(old.state, next.state, batches, probes(['101']))).toBeUndefined();
    expect(firstWindowBatched(old.state, next.state, [batches.flat()], probes(['101']))).toMatch(/after op \d+ \(default 0 learn\).* is AUDIT, old DENIED, new DENIED/);
  });

  it('the property can fail: deleting before flipping opens a window', () => {
    const d1 = PolicyDocument.parse({ version: 1, policies: [{ name: 'a', match: { agent: 'a1' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443] }] } }] });
    const d2 = PolicyDocument.parse({ version: 1, policies: [{ name: 'a', match: { agent: 'a1' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443, 80] }] } }] });
    const w = [{ cgroup_id: '101', agent: 'a1' }];
    const old = compile({ document: d1, workloads: w });
    const next = compile({ document: d2, previous: old.ids, workloads: w });
    const ops = plan(old.state, next.state);
    const bad = [...ops.filter((o) => o.op === 'policy-del'), ...ops.filter((o) => o.op !== 'policy-del')];
    expect(firstWindow(old.state, next.state, ops, probes(['101']))).toBeUndefined();
    expect(firstWindow(old.state, next.state, bad, probes(['101']))).toMatch(/is DENIED, old ALLOWED, new ALLOWED/);
  });

  it('orders a change as write-new, flip, delete-old and keeps unchanged policy ids', () => {
    const base = { version: 1, policies: [
      { name: 'keep', match: { project: 'p1' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [443] }] } },
      { name: 'change', match: { project: 'p2' }, resolvers: ['10.0.0.53'], egress: { allow: [{ cidr: '10.1.0.0/16', ports: [80] }] } },
    ] };
    const d1 = PolicyDocument.parse(base);
    const d2 = PolicyDocument.parse({ ...base, policies: [base.policies[0], { ...base.policies[1], egress: { allow: [{ cidr: '10.1.0.0/16', ports: [81] }] } }] });
    const w = [{ cgroup_id: '1', project: 'p1' }, { cgroup_id: '2', project: 'p2' }];
    const old = compile({ document: d1, workloads: w });
    const next = compile({ document: d2, previous: old.ids, workloads: w });
    expect(next.ids.policies.keep).toEqual(old.ids.policies.keep);
    expect(next.ids.policies.change!.id).not.toBe(old.ids.policies.change!.id);
    const newId = next.ids.policies.change!.id;
    expect(plan(old.state, next.state).map(formatOp)).toEqual([
      `rule ${newId} ${newId * 4096 + 1} 10.1.0.0/16 81 tcp`,
      `resolver ${newId} ${newId * 4096 + 2} 10.0.0.53`,
      `policy ${newId} loopback`,
      `cgroup 2 ${newId} enforce`,
      `policy-del ${old.ids.policies.change!.id}`,
    ]);
  });

  it('rewrites a drifted unreferenced policy in its own batch, and refuses to rewrite a live one', () => {
    const d = PolicyDocument.parse({ version: 1, policies: [{ name: 'a', match: { agent: 'x' }, egress: { allow: [{ cidr: '10.0.0.0/8', ports: [1] }] } }] });
    const c = compile({ document: d, workloads: [{ cgroup_id: '7', agent: 'x' }] });
    const id = c.ids.policies.a!.id;
    const partial = emptyState();
    applyOp(partial, { op: 'rule', policy_id: id, rule: { rule_id: 99, cidr: '0.0.0.0/0', ports: [{ from: 1, to: 65535 }], proto: 'any' } });
    // Entries without the policy marker: the helper cannot delete them, so the id is refused.
    expect(() => plan(partial, c.state)).toThrow(PlanError);
    applyOp(partial, { op: 'policy', policy_id: id, loopback: false });
    expect(planBatches(partial, c.state).map((b) => b.map(formatOp))[0]).toEqual([`policy-del ${id}`]);
    applyOp(partial, { op: 'cgroup', cgroup_id: '8', policy_id: id, mode: 'enforce' });
    expect(() => plan(partial, c.state)).toThrow(PlanError);
  });

  it('allocates ids around those present in the maps', () => {
    const d = PolicyDocument.parse({ version: 1, policies: [{ name: 'a', match: { agent: 'x' } }, { name: 'b', match: { agent: 'y' } }] });
    const c = compile({ document: d, workloads: [], present: [1, 2] });
    expect([c.ids.policies.a!.id, c.ids.policies.b!.id]).toEqual([3, 4]);
    expect(c.ids.next_policy_id).toBe(5);
  });
});
