// The live enforcement canary (issue #17): what the policy service publishes about it and what the
// CLI reads back. The service side lives in services/policy/src/canary-*.ts.
import { z } from 'zod';

/** Audit kinds on sluice.audit.<kind>: raised when a canary verdict deviates, cleared when right again. */
export const CANARY_AUDIT_KINDS = {
  broken: 'enforcement_broken',
  restored: 'enforcement_restored',
} as const;

/** Gauge on the policy service's /metrics: 1 while the canary's verdicts deviate, else 0. */
export const ENFORCEMENT_BROKEN_METRIC = 'sluice_enforcement_broken';
/** Counter of canary rounds by outcome (ok | deviated | error). */
export const CANARY_ROUNDS_METRIC = 'sluice_canary_rounds_total';
/** The policy service's readiness check that carries the canary's state and its last finding. */
export const CANARY_READINESS_CHECK = 'enforcement-canary';

export const CanaryExpect = z.enum(['allowed', 'denied']);
export type CanaryExpect = z.infer<typeof CanaryExpect>;

/** One connect the probe made, and how it deviated (absent: as expected). */
export const CanaryAttempt = z.object({
  /** Which probe cgroup made it: `canary` (the canary policy) or `default` (no entry: the default). */
  probe: z.enum(['canary', 'default']),
  dst: z.string(),
  port: z.number().int(),
  expect: CanaryExpect,
  /** `connected`, or the errno code the connect failed with (EPERM is a kernel denial). */
  got: z.string(),
  deviation: z.string().optional(),
});
export type CanaryAttempt = z.infer<typeof CanaryAttempt>;
