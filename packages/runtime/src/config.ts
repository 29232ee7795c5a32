// Configuration comes from the environment, validated once at start-up. Every bad or missing
// variable is reported together (not one per restart), and the process exits non-zero.
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const NATS_SERVER = /^(nats|tls|ws|wss):\/\/[^\s,]+$/;

/**
 * A NATS_URL value as the list of servers it names (a cluster's seed list: the client learns the
 * rest of the cluster from whichever answers). Throws naming the entry that is not a NATS URL.
 */
export function natsServers(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new Error('names no NATS server');
  for (const s of list) if (!NATS_SERVER.test(s)) throw new Error(`${JSON.stringify(s)} is not a nats://, tls://, ws:// or wss:// URL`);
  return list;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables every service shares. */
export const commonEnv = {
  /** NATS server(s), comma-separated: a cluster's seed list. */
  NATS_URL: z.string().refine((v) => {
    try {
      return natsServers(v).length > 0;
    } catch {
      return false;
    }
  }, 'must be a nats:// URL, or several separated by commas'),
  /**
   * Replicas of every JetStream stream this component ensures (1 on a single server, 3 on a
   * 3-node cluster). Applied when a stream is created; an existing stream is never moved or
   * resized by a service: a different value is reported as drift (log line and metric).
   */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Replicas of every JetStream KV bucket this component ensures; same rules as STREAM_REPLICAS. */
  KV_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** The component's NATS identity (infra/nats/accounts.conf); unset for the open dev server. */
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  /** pino level (fatal, error, warn, info, debug, trace, silent); logs are JSON lines on stderr. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Port of the one HTTP server for /metrics (Prometheus), /healthz and /readyz; each service has its own default. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535),
  /** Address that server binds; 0.0.0.0 in compose so Prometheus on the internal network can scrape. */
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** This node's name: subject token of sluice.raw.<node> and the key of node-scoped state. */
  NODE_NAME: z.string().min(1).default(process.env.HOSTNAME ?? 'local'),
  /** Graceful-stop budget after SIGTERM before in-flight work is abandoned. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(4000),
  // OpenTelemetry (@opentelemetry/sdk-node) reads the standard variables itself; listed here so they
  // are documented and checked. Traces are off unless an exporter or endpoint is set (tracing.ts).
  /** Traces exporter(s): `otlp` (also `console`, `none`). Unset with no OTLP endpoint: no tracing. */
  OTEL_TRACES_EXPORTER: z.string().optional(),
  /** OTLP endpoint (traces at <url>/v1/traces, metrics at <url>/v1/metrics); setting it turns tracing on. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Sampler: e.g. `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG=0.01 for 1 %. The SDK's default samples every trace. */
  OTEL_TRACES_SAMPLER: z.string().optional(),
  OTEL_TRACES_SAMPLER_ARG: z.string().optional(),
  /** `otlp`: metrics are also pushed over OTLP (every OTEL_METRIC_EXPORT_INTERVAL ms), besides Prometheus. */
  OTEL_METRICS_EXPORTER: z.string().optional(),
};

/**
 * Parse `env` against `shape`. Empty strings count as unset so `FOO=` in a compose file falls back
 * to the default instead of failing a regex.
 */
export function parseEnv<S extends z.ZodRawShape>(
  service: string,
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const result = z.object(shape).safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const given = cleaned[name];
    const what = given === undefined ? 'missing' : `got ${JSON.stringify(given)}`;
    return `${name}: ${issue.message} (${what})`;
  });
  throw new ConfigError(service, problems);
}
