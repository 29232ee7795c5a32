// Variables specific to the attributor; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
import { z } from 'zod';
import { subjects } from '@sluice/contracts';

export const DEFAULT_METRICS_PORT = 9465;

const labelKey = z.string().min(1).regex(/^[^\s=]+$/, 'must be a Docker label key (no spaces or "=")');

export const env = {
  /** Label keys whose raw values become `agent` / `project` (D17): configurable, never synthesised. */
  AGENT_LABEL: labelKey.default('dev.clawker.agent'),
  PROJECT_LABEL: labelKey.default('dev.clawker.project'),
  /** Empty = no Redis: the in-memory cache only (single replica, no warm restart of registrations). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().min(1).default('sluice:id'),
  /** Live identities are refreshed well within this; dead ones expire after the grace period. */
  IDENTITY_TTL_S: z.coerce.number().int().positive().default(6 * 3600),
  DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  /**
   * Where the sluice-runc runtime wrapper leaves one request per container it holds at `create`
   * (cgroup path and id); the attributor announces that cgroup with the container's labels.
   */
  SLUICE_RUNTIME_DIR: z.string().min(1).default('/run/sluice/runtime'),
  /** How long a dead container's entry still attributes in-flight records (P13 invalidation). */
  GRACE_MS: z.coerce.number().int().nonnegative().default(10_000),
  /**
   * A record may precede the container's recorded start by this much and still belong to it:
   * Docker stamps StartedAt after the process already runs. Reuse of a cgroup id needs the old
   * cgroup destroyed first, so a small slack cannot reach a previous holder's records in practice.
   */
  START_SLACK_MS: z.coerce.number().int().nonnegative().default(2_000),
  /** Minimum interval between two scans of the cgroup tree for unknown cgroup ids. */
  SCAN_INTERVAL_MS: z.coerce.number().int().nonnegative().default(2_000),
  /** Unknown cgroup ids are not looked up again (Redis, scan) within this window. */
  NEGATIVE_TTL_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** Durable pull consumer shared by all replicas. */
  CONSUMER_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a valid consumer name').default('attributor'),
  RAW_FILTER: z.string().min(1).default(subjects.rawAll),
  ACK_WAIT_MS: z.coerce.number().int().positive().default(30_000),
  /** Raw batches processed concurrently (each waits for its publish acks before its own ack). */
  CONCURRENCY: z.coerce.number().int().positive().max(256).default(8),
  /** domain_hash → name entries kept in memory over all cgroups (LRU). */
  DNS_NAMES_MAX: z.coerce.number().int().positive().default(100_000),
  /** Names shared in Redis expire this long after their cgroup last taught a new one (refreshed). */
  DNS_NAME_TTL_S: z.coerce.number().int().positive().default(24 * 3600),
  /**
   * An egress record's name neither this replica nor Redis knows: wait this long once for the
   * replica holding the DNS record's batch to share it (0 = never wait: single replica).
   */
  DNS_MISS_WAIT_MS: z.coerce.number().int().nonnegative().max(5000).default(100),
  /**
   * Managed scopes relative to the cgroup2 mount (as the policy service's variable of the same
   * name): only containers inside them are flagged raw_socket_capable, the others are not judged.
   */
  SLUICE_MANAGED_CGROUPS: z
    .string()
    .default('/sluice')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Upper bound for one NDJSON message; NATS' default max_payload is 1 MiB. */
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(4096).default(512 * 1024),
};

export type AttributorEnv = z.infer<z.ZodObject<typeof env>>;
