// One OTLP log record as the otlp-receiver publishes it on SLUICE_OTLP (one NDJSON line each) and
// the sink turns into a document of the sender's own data stream (D26). Attribution is decided at
// the receiver (D27), prompt content is gone before this is built (D28): what travels here is what
// may be stored.
import { z } from 'zod';

/**
 * Where `agent`/`project` came from: the sender's resource attributes (`resource`), the sending
 * container found by its source IP (`docker`, or `registered` for a registered cgroup), or nowhere.
 */
export const OtlpAttribution = z.enum(['resource', 'docker', 'registered', 'unknown']);
export type OtlpAttribution = z.infer<typeof OtlpAttribution>;

/** An OTLP AnyValue in JSON form: int64 beyond 2^53 stays a decimal string, bytes are base64. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [k: string]: OtlpValue };

export const OtlpLogEvent = z.object({
  /** `<request id>-<index>`: the sink's document _id, so a redelivery is a duplicate. */
  id: z.string().min(1),
  /** The record's time, else its observed time, else when the receiver took it. */
  time: z.iso.datetime(),
  observed_time: z.iso.datetime(),
  /** The receiving node. */
  node: z.string().min(1),
  /** resource `service.name`; `unknown_service` when the sender set none (as the SDKs do). */
  service_name: z.string().min(1),
  attribution: OtlpAttribution,
  agent: z.string().optional(),
  project: z.string().optional(),
  container_id: z.string().optional(),
  container_name: z.string().optional(),
  image: z.string().optional(),
  /** The resource named one workload and the sending container is another: both are kept. */
  attribution_conflict: z.boolean().optional(),
  source_ip: z.string().min(1),
  severity_text: z.string().optional(),
  severity_number: z.number().int().min(0).max(24).optional(),
  body: z.unknown().optional(),
  event_name: z.string().optional(),
  trace_id: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  span_id: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  scope_name: z.string().optional(),
  scope_version: z.string().optional(),
  attributes: z.record(z.string(), z.unknown()),
  resource: z.record(z.string(), z.unknown()),
  /** Names (never values) of the attributes dropped as prompt or response content (D28). */
  redacted: z.array(z.string()).optional(),
});
export type OtlpLogEvent = z.infer<typeof OtlpLogEvent>;
