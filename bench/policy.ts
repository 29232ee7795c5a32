// policy: the cost of the path from a document to the kernel.
//   policy.parse_ms            parse + validate a 200-policy, 4,000-rule YAML document
//   policy.compile_plan_ms     compile it for 5,000 containers and plan a one-policy change
//   policy.plan_ops            map operations that one-policy change needs (20 rules + its cgroups)
//   policy.helper_apply_ms     real kernel (root): `sluice-bpf apply` of those batches, median of 5
//                              (the kernel half of "a container's verdict changes within 1 s";
//                              the end-to-end figure is printed by services/policy/src/sync.kernel.test.ts)
import { parsePolicy } from '@sluice/contracts';
import { compile, type Workload } from '../services/policy/src/compile.ts';
import { desiredState } from '../services/policy/src/desired.ts';
import { ApplySession, dumpState } from '../services/policy/src/helper.ts';
import { planBatches } from '../services/policy/src/plan.ts';
import { HELPER } from '../test/kernel/exec.ts';
import { Sandbox } from '../test/kernel/sandbox.ts';

const POLICIES = 200;
const RULES = 20;
const CONTAINERS = 5000;

function documentText(variant: number): string {
  const lines = ['version: 1', 'policies:'];
  for (let p = 0; p < POLICIES; p++) {
    lines.push(`  - name: p${p}`, `    match: { project: proj${p} }`, '    resolvers: [10.0.0.53]', '    egress:', '      allow:');
    for (let r = 0; r < RULES; r++) {
      const port = p === 0 ? 1000 + r + variant : 1000 + r;
      lines.push(r % 2 ? `        - { host: "*.svc${r}.example.com", ports: [443] }` : `        - { cidr: 10.${p}.${r}.0/24, ports: [${port}, "8000-8100"] }`);
    }
  }
  return lines.join('\n') + '\n';
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Record<string, number>> {
  const v1 = documentText(0);
  const v2 = documentText(1);
  let t = performance.now();
  const r1 = parsePolicy(v1, { file: 'bench.yaml' });
  const parseMs = performance.now() - t;
  const r2 = parsePolicy(v2, { file: 'bench.yaml' });
  if (!r1.ok || !r2.ok) throw new Error('bench document does not validate');
  const workloads: Workload[] = Array.from({ length: CONTAINERS }, (_, i) => ({ cgroup_id: String(100_000 + i), project: `proj${i % POLICIES}` }));

  t = performance.now();
  const old = compile({ document: r1.document, workloads });
  const next = compile({ document: r2.document, previous: old.ids, workloads });
  const batches = planBatches(old.state, next.state);
  const compilePlanMs = performance.now() - t;
  const figures: Record<string, number> = {
    'policy.parse_ms': parseMs,
    'policy.compile_plan_ms': compilePlanMs,
    'policy.plan_ops': batches.flat().length,
  };

  if (process.getuid?.() !== 0) {
    process.stderr.write('bench policy: not root, skipping policy.helper_apply_ms (needs BPF)\n');
    return figures;
  }
  const sb = new Sandbox('bench-policy');
  await sb.setup();
  try {
    const cgroups = Array.from({ length: CONTAINERS / POLICIES }, (_, i) => sb.cgroup(`c${i}`));
    // Two small documents flipping back and forth: one policy of 20 rules, 25 real cgroups.
    const docs = [r1.document, r2.document].map((d) => ({ ...d, policies: d.policies.slice(0, 1) }));
    const session = await ApplySession.start(HELPER, sb.pin);
    const times: number[] = [];
    let ids = undefined as ReturnType<typeof compile>['ids'] | undefined;
    for (let i = 0; i < 6; i++) {
      const actual = await dumpState(HELPER, sb.pin);
      const d = desiredState({
        document: docs[i % 2],
        ids,
        workloads: cgroups.map((c) => ({ cgroup_id: String(c.id), project: 'proj0' })),
        bypasses: [],
        actual,
        cgroupExists: () => true,
        nowMs: Date.now(),
        bootOffsetNs: 0n,
      });
      ids = d.compiled.ids;
      const started = performance.now();
      for (const b of d.batches) {
        const r = await session.apply(b);
        if (!r.ok) throw new Error(`apply failed: ${JSON.stringify(r.results.filter((x) => x.error))}`);
      }
      if (i > 0) times.push(performance.now() - started); // the first one writes from empty
    }
    await session.close();
    figures['policy.helper_apply_ms'] = median(times);
  } finally {
    await sb.teardown();
  }
  return figures;
}
