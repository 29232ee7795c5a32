// JetStream streams and KV buckets. Services `ensure` these at start-up (packages/runtime), so a
// fresh NATS cluster needs no manual set-up and a drifted config is reported, not silently used.
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Max age in nanoseconds-free form: seconds. */
  maxAgeSeconds: number;
  maxBytes: number;
  /** Window in which a repeated Nats-Msg-Id is dropped as a duplicate. */
  duplicateWindowSeconds: number;
}

const GiB = 1024 ** 3;

export const STREAMS = {
  raw: {
    name: 'SLUICE_RAW',
    subjects: ['sluice.raw.>'],
    maxAgeSeconds: 24 * 3600,
    maxBytes: 4 * GiB,
    duplicateWindowSeconds: 120,
  },
  events: {
    name: 'SLUICE_EVENTS',
    subjects: ['sluice.events.>', 'sluice.dns.>'],
    maxAgeSeconds: 7 * 24 * 3600,
    maxBytes: 8 * GiB,
    duplicateWindowSeconds: 120,
  },
  control: {
    name: 'SLUICE_CONTROL',
    subjects: ['sluice.containers.>', 'sluice.audit.>', 'sluice.drops.>', 'sluice.health.>', 'sluice.dlq.>'],
    maxAgeSeconds: 30 * 24 * 3600,
    maxBytes: 1 * GiB,
    duplicateWindowSeconds: 120,
  },
  /**
   * Agents' own telemetry taken in over OTLP/HTTP (services/otlp-receiver): one message per accepted
   * request (or slice of one), NDJSON of OtlpLogEvent, stored before the sender hears 200.
   */
  otlp: {
    name: 'SLUICE_OTLP',
    subjects: ['sluice.otlp.>'],
    maxAgeSeconds: 7 * 24 * 3600,
    maxBytes: 4 * GiB,
    duplicateWindowSeconds: 120,
  },
} as const satisfies Record<string, StreamSpec>;

export const KV_BUCKETS = {
  policy: { name: 'sluice-policy', history: 64 },
  /** Per node: the drops the bpf-reader has published notices for (drop-account.ts), so a restart resumes the count. */
  dropAccounts: { name: 'sluice-drop-accounts', history: 4 },
} as const;

/** Header names carried on batch messages. */
export const HEADERS = {
  msgId: 'Nats-Msg-Id',
  node: 'Sluice-Node',
  bootId: 'Sluice-Boot-Id',
  firstSeq: 'Sluice-First-Seq',
  count: 'Sluice-Count',
  /** Wall-clock ns minus kernel boot-clock ns when the raw batch was cut: record wall time = ts + this. */
  wallOffsetNs: 'Sluice-Wall-Offset-Ns',
  contentType: 'Content-Type',
  /** W3C trace context (https://www.w3.org/TR/trace-context/), so one batch's journey is one trace. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;
