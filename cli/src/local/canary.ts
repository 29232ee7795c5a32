// The enforcement canary as `status` and `doctor` show it, read from the policy service's readiness
// (services/policy/src/canary-loop.ts sets the check). Pure.
import { CANARY_READINESS_CHECK } from '@sluice/contracts';
import type { ServiceStatus } from './pipeline.ts';

export type CanaryStateName = 'ok' | 'broken' | 'failing' | 'pending' | 'off' | 'unreachable';

export interface CanaryView {
  state: CanaryStateName;
  detail: string;
  /** Something is wrong with enforcement or with the canary itself: status and doctor go red. */
  red: boolean;
}

export function canaryOf(policy: Pick<ServiceStatus, 'checks'>): CanaryView {
  const c = policy.checks[CANARY_READINESS_CHECK];
  if (Object.keys(policy.checks).length === 0) return { state: 'unreachable', detail: 'the policy service (which runs the canary) is not reachable', red: false };
  if (!c) return { state: 'off', detail: 'the policy service runs no canary (CANARY_INTERVAL_S=0, or no SLUICE_BPF_BIN)', red: false };
  if (c.ok) return { state: 'ok', detail: c.detail, red: false };
  if (c.detail.startsWith('enforcement_broken')) return { state: 'broken', detail: c.detail, red: true };
  if (/^(first canary round pending|no canary verdict yet)/.test(c.detail)) return { state: 'pending', detail: c.detail, red: false };
  return { state: 'failing', detail: c.detail, red: true };
}
