// Variables specific to the policy service; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT,
// NODE_NAME, …) come from @sluice/runtime's commonEnv.
import { z } from 'zod';
import { DEFAULT_POLICY_MAX_ALIASES, DEFAULT_POLICY_MAX_BYTES, KV_BUCKETS } from '@sluice/contracts';

export const DEFAULT_METRICS_PORT = 9466;

export const env = {
  /** Overridable so integration tests (and a second deployment on one NATS) use their own bucket. */
  POLICY_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default(KV_BUCKETS.policy.name),
  POLICY_MAX_BYTES: z.coerce.number().int().positive().default(DEFAULT_POLICY_MAX_BYTES),
  POLICY_MAX_ALIASES: z.coerce.number().int().nonnegative().default(DEFAULT_POLICY_MAX_ALIASES),
  /** The sluice-bpf helper; empty: serve the API and store revisions, touch no maps (no kernel here). */
  SLUICE_BPF: z.string().optional(),
  /** Pin directory of the maps; the helper's lock on it makes this service the node's one writer. */
  BPF_PIN_DIR: z.string().default('/sys/fs/bpf/sluice'),
  /** Seconds between reconciles against `sluice-bpf dump`. */
  RECONCILE_INTERVAL_S: z.coerce.number().positive().default(30),
};
