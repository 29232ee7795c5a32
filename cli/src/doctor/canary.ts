// doctor: the live enforcement canary of this node's policy service. Red while its verdicts deviate
// (enforcement_broken) or it cannot probe; a warning when there is no canary to ask.
import { canaryOf } from '../local/canary.ts';
import { probe, type LocalService } from '../local/pipeline.ts';
import type { CheckResult } from './check.ts';

export async function enforcementCanary(policy: LocalService): Promise<CheckResult> {
  const v = canaryOf(await probe(policy));
  const hints: Record<string, string> = {
    broken: 'enforcement is not in force: check `sluice-bpf dump` and the programs attached to the managed scope (bpftool cgroup tree); restarting the policy service re-attaches and re-syncs',
    failing: "the canary cannot probe: see the policy service's log (loop canary)",
    pending: 'wait for the first round (CANARY_INTERVAL_S)',
    unreachable: 'sluice up (the canary runs inside the policy service)',
    off: 'set CANARY_INTERVAL_S > 0 on the policy service',
  };
  return {
    name: 'enforcement canary',
    ok: v.state === 'ok',
    optional: !v.red,
    detail: `${v.state}: ${v.detail}`,
    ...(hints[v.state] ? { hint: hints[v.state] } : {}),
  };
}
