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
  SLUICE_BPF_BIN: z.string().optional(),
  /** Pin directory of the maps; the helper's lock on it makes this service the node's one writer. */
  SLUICE_BPF_PIN: z.string().default('/sys/fs/bpf/sluice'),
  /**
   * Managed scopes, relative to the cgroup2 mount: the programs are attached here at start (before
   * the writer lock is taken for good), so every descendant cgroup is enforced. Only agents belong
   * here, never the Sluice stack or unrelated containers: `sluice run` uses /sluice/run-*, agent
   * containers are started with `docker run --cgroup-parent=/sluice/agents`. Comma-separated.
   */
  SLUICE_MANAGED_CGROUPS: z
    .string()
    .default('/sluice')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((l) => l.every((s) => s.startsWith('/') && !s.includes('..')), 'each scope must be an absolute path under the cgroup2 mount'),
  /**
   * Size of the kernel ring buffer (bytes, a power of two) when the programs are first loaded; 0:
   * the helper's default, 4 MiB (~15,900 records). A record leaves it only once JetStream holds it,
   * so it is also what buffers events while the reader restarts or NATS is away (at 20k events/s,
   * 4 MiB is ~0.8 s; beyond it the kernel counts ringbuf_full drops). A pinned ring keeps its size
   * until the pin directory is removed. Raise READER_ACK_WINDOW with it (≥ bytes / 264).
   */
  SLUICE_BPF_RINGBUF_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(1 << 30)
    .refine((n) => n === 0 || (n & (n - 1)) === 0, 'must be 0 or a power of two')
    .default(0),
  /** A helper run or apply batch taking longer is hung: killed, the sync fails and retries. */
  HELPER_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /**
   * Seconds between container-table reconciles against the attributor's identity snapshot (a
   * lost lifecycle `start` is repaired within this); the first runs at start.
   */
  IDENTITY_RECONCILE_INTERVAL_S: z.coerce.number().positive().default(60),
  /** Seconds between reconciles against `sluice-bpf dump`. */
  RECONCILE_INTERVAL_S: z.coerce.number().positive().default(30),
  /**
   * Seconds between rounds of the live enforcement canary: a probe in CANARY_CGROUP, under a canary
   * policy of its own, connects to one allowed and one denied loopback destination (and a probe in
   * `<CANARY_CGROUP>-default` checks the default); a wrong verdict raises enforcement_broken. 0: off.
   * Needs SLUICE_BPF_BIN.
   */
  CANARY_INTERVAL_S: z.coerce.number().nonnegative().default(10),
  /**
   * The canary cgroup, relative to the cgroup2 mount; must lie inside a managed scope. Empty: `canary`
   * under the first of SLUICE_MANAGED_CGROUPS.
   */
  CANARY_CGROUP: z
    .string()
    .default('')
    .refine((v) => v === '' || (v.startsWith('/') && !v.includes('..') && !v.endsWith('/')), 'an absolute cgroup path under the cgroup2 mount, e.g. /sluice/canary'),
  /** uid:gid the canary probe runs as (unprivileged, as an agent runs). */
  CANARY_RUN_AS: z
    .string()
    .regex(/^\d+:\d+$/, 'uid:gid, numeric')
    .default('65534:65534')
    .transform((v) => {
      const [uid, gid] = v.split(':').map(Number) as [number, number];
      return { uid, gid };
    })
    .refine((r) => r.uid !== 0, 'the canary probe must not run as root: it has to take the path an agent takes'),
  /** Bound on each canary connect; one that takes longer counts as failed (ETIMEDOUT). */
  CANARY_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).default(2000),
};

/** The canary cgroup: CANARY_CGROUP, or `canary` under the first managed scope; refused outside every scope. */
export function canaryCgroup(configured: string, scopes: readonly string[]): string {
  const cg = configured || `${scopes[0]!.replace(/\/$/, '')}/canary`;
  if (!scopes.some((s) => cg.startsWith(`${s.replace(/\/$/, '')}/`))) {
    throw new Error(`CANARY_CGROUP ${cg} is not inside a managed scope (SLUICE_MANAGED_CGROUPS: ${scopes.join(', ')}): its verdicts would test nothing`);
  }
  return cg;
}
