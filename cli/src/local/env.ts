// The variables the CLI itself reads, with the same names the services use for the same thing
// (one name per setting: docs/config.md is generated from this and the services' config.ts).
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);

export const env = {
  /** The instance's state directory (pid files, logs, NDJSON events, ports.env); default `.run/` in the checkout. */
  SLUICE_RUN_DIR: z.string().min(1).optional(),
  /** The sluice-bpf helper the local policy service and bpf-reader run; default `bpf/build/sluice-bpf`. */
  SLUICE_BPF_BIN: z.string().min(1).optional(),
  /** Pin directory of this node's maps and links. */
  SLUICE_BPF_PIN: z.string().min(1).default('/sys/fs/bpf/sluice'),
  /** Managed scopes, comma-separated, relative to the cgroup2 mount; `sluice run` uses the first. */
  SLUICE_MANAGED_CGROUPS: z.string().min(1).default('/sluice'),
  /** The node name the local services run under; default the host name. */
  NODE_NAME: z.string().min(1).optional(),
  /** NATS server(s) the CLI talks to; default the instance's own (port from ports.env, else 4222). */
  NATS_URL: z.string().min(1).optional(),
  /** OpenSearch the sink writes to; set, it is where `sluice events` reads by default (else the NDJSON store). */
  OPENSEARCH_URL: z
    .string()
    .refine((v) => v.split(',').every((u) => /^https?:\/\/\S+$/.test(u.trim())), 'must be http(s):// URL(s), comma-separated')
    .optional(),
  /** Index prefix of the sink's data streams (`<prefix>egress`) that `events`/`tail --from-opensearch` read. */
  SINK_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be lower-case letters, digits, "_", "-" or "." (an OpenSearch index name prefix)')
    .default('clawker-'),
  /** The NDJSON store `events`/`tail --from-file` read; default the instance's `data/events`. */
  SINK_DATA_DIR: z.string().min(1).optional(),
  /** First of the local services' metrics ports (bpf-reader, attributor, policy, learner, sink, otlp-receiver). */
  SLUICE_METRICS_PORT_BASE: port.default(9464),
  /** A private instance (the test suite's): random free ports, never a server it did not start. */
  SLUICE_PRIVATE_SERVERS: z.enum(['0', '1']).default('0'),
  /** The name recorded as the actor of policy and learn changes; default user@host. */
  SLUICE_ACTOR: z.string().min(1).optional(),
  /** Compose project name of `sluice up --compose`. */
  SLUICE_COMPOSE_PROJECT: z.string().min(1).default('sluice'),
  /** The compose command, e.g. `docker compose` for v2. */
  SLUICE_COMPOSE: z.string().min(1).default('docker-compose'),
};
