// Variables specific to the sink; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
import { subjects } from '@sluice/contracts';
import { DEFAULT_OTEL_STREAMS, otelStreamProblem } from '@sluice/store';
import { z } from 'zod';

export const DEFAULT_METRICS_PORT = 9468;

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 500ms, 30s, 5m, 12h or 7d');
const size = z.string().regex(/^\d+(b|kb|mb|gb|tb)$/, 'must be a size like 512mb or 50gb');

export const env = {
  /** Unset: the embedded default, rotating NDJSON files in SINK_DATA_DIR (what `sluice run` uses). */
  OPENSEARCH_URL: z
    .string()
    .refine((v) => v.split(',').every((u) => /^https?:\/\/\S+$/.test(u.trim())), 'must be http(s):// URL(s), comma-separated')
    .optional(),
  OPENSEARCH_USERNAME: z.string().optional(),
  OPENSEARCH_PASSWORD: z.string().optional(),
  /** Data streams are `<prefix>egress`, `<prefix>dns`, `<prefix>overseer`. */
  SINK_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be lower-case letters, digits, "_", "-" or "." (an OpenSearch index name prefix)')
    .default('clawker-'),
  SINK_DATA_DIR: z.string().min(1).default('.run/sink'),
  /** Durable consumer names are `<prefix>-egress`, `<prefix>-dns`, `<prefix>-overseer`, shared by replicas. */
  SINK_CONSUMER_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a NATS durable name').default('sink'),
  /** Subject filters, overridable so tests and partial deployments read a slice of the streams. */
  SINK_EGRESS_FILTER: z.string().default(subjects.eventsAll),
  SINK_DNS_FILTER: z.string().default(subjects.dnsAll),
  SINK_AUDIT_FILTER: z.string().default(subjects.auditAll),
  /** OTLP logs from the otlp-receiver (stream SLUICE_OTLP). */
  SINK_OTLP_FILTER: z.string().default(subjects.otlpLogsAll),
  /**
   * OTLP senders' data streams (D26), `service.name=stream` pairs, comma-separated; a stream is
   * `claude` or `otel-<name>` under the index prefix. Unlisted services go to `otel-<service.name>`
   * (lower-cased, other characters as `-`). The default sends Claude Code to `claude`.
   */
  SINK_OTEL_STREAMS: z
    .string()
    .default(Object.entries(DEFAULT_OTEL_STREAMS).map(([k, v]) => `${k}=${v}`).join(','))
    .transform((v, ctx) => {
      const out: Record<string, string> = {};
      for (const pair of v.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
        const eq = pair.lastIndexOf('=');
        const service = pair.slice(0, eq).trim();
        const stream = pair.slice(eq + 1).trim();
        const problem = eq <= 0 ? `${JSON.stringify(pair)} is not service.name=stream` : otelStreamProblem(stream);
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          return z.NEVER;
        }
        out[service] = stream;
      }
      return out;
    }),
  SINK_ACK_WAIT_MS: z.coerce.number().int().positive().default(30_000),
  /** Unacknowledged NATS messages per consumer: the bound on in-flight work when OpenSearch is away. */
  SINK_MAX_ACK_PENDING: z.coerce.number().int().positive().default(1_000),
  SINK_MAX_BUFFERED_DOCS: z.coerce.number().int().positive().default(50_000),
  SINK_BULK_MIN_DOCS: z.coerce.number().int().positive().default(100),
  SINK_BULK_MAX_DOCS: z.coerce.number().int().positive().default(5_000),
  SINK_BULK_TARGET_MS: z.coerce.number().int().positive().default(500),
  SINK_BULK_CONCURRENCY: z.coerce.number().int().positive().default(2),
  /**
   * How long documents may gather for a fuller bulk while another bulk is out. With none out they
   * go at once, so an idle pipe adds no wait and bulks grow with the load (flush-policy.ts).
   */
  SINK_LINGER_MS: z.coerce.number().int().nonnegative().default(200),
  /**
   * The OTLP logs have a pipeline of their own (bulks, buffer and backpressure apart from the
   * event sources'), so a flood of one never holds the other back. Its bulks in flight: more than
   * the events' 2, because on a small, busy machine OpenSearch sat idle between two bulks' turns
   * (bench otlp: 2 → 4 took OTLP logs made searchable from ~3,600/s to ~8,200/s).
   */
  SINK_OTLP_BULK_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /**
   * The OTLP pipeline's smallest bulk. A bulk slower than SINK_BULK_TARGET_MS halves the size; on a
   * CPU-starved machine that was every bulk, and 100-doc bulks cost OpenSearch far more per document
   * than 1,000-doc ones (bench otlp: average bulk 242 docs at ~550 logs/s searchable).
   */
  SINK_OTLP_BULK_MIN_DOCS: z.coerce.number().int().positive().default(1000),
  SINK_ROLLOVER_MAX_AGE: duration.default('1d'),
  SINK_ROLLOVER_MAX_SIZE: size.default('30gb'),
  SINK_RETENTION: duration.default('30d'),
  /** How often the sink drives rollover/retention itself when the ISM plugin is absent. */
  SINK_LIFECYCLE_INTERVAL: duration.default('5m'),
  SINK_FILE_MAX_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  /**
   * `off`: every egress line goes through JSON.parse and the schema, none is checked and written
   * from its bytes (store egress-scan.ts). Both paths write the same documents; off costs about a
   * third more CPU per document. For comparing the two (bench sink) and as a way out of the fast path.
   */
  SINK_EGRESS_SCAN: z.enum(['on', 'off']).default('on'),
};

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s` → 30000. Accepts exactly what the `duration` schema accepts. */
export function durationMs(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(value)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
