// Where the sink's CPU goes, from its `.cpuprofile`: each sample is charged to one stage of the
// per-document path by the sink and store source file nearest its leaf (a JSON.parse called from
// parse.ts is parse), and below that by the library it is in. Pure: no I/O.
//   nats       the NATS client: pulls, receiving and decoding messages, acks, keep-alives
//   parse      JSON.parse, the schema check, the ss4o document and its JSON (parse.ts, document.ts; the schema's
//              fast check in @sluice/contracts is charged to parse.ts, which calls it); for egress lines
//              the byte scanner and the document it writes (line-scan.ts, egress-scan.ts)
//   encode     a message's documents into one UTF-8 buffer (docs-writer.ts, which parseBatch writes
//              through; encoded-docs.ts for other parsers)
//   pipeline   queueing, bulk scheduling, settling messages (pipeline.ts and its policies)
//   bulk_body  the bulk NDJSON body (opensearch-writer.ts)
//   http       the OpenSearch client: the request, the response and its JSON (bulk-result.ts included)
//   telemetry  metrics, spans, logs
//   gc         the garbage collector (every stage's allocations feed it)
//   other      Node's own I/O and timers, and anything unnamed
import type { CallFrame, Classifier } from './cpu-profile.ts';

export const SINK_STAGES = ['nats', 'parse', 'encode', 'pipeline', 'bulk_body', 'http', 'telemetry', 'gc', 'other'] as const;
export type SinkStage = (typeof SINK_STAGES)[number];

const FILE_STAGE: Record<string, SinkStage> = {
  'parse.ts': 'parse',
  'document.ts': 'parse',
  'otel-document.ts': 'parse',
  // The egress lines' byte path (2026-12-02): the scan and the document it writes from the bytes.
  'line-scan.ts': 'parse',
  'iso-datetime-bytes.ts': 'parse',
  'egress-scan.ts': 'parse',
  'encoded-docs.ts': 'encode',
  // parseBatch writes each document's bytes through it (its frame, head and line): until 2026-12-02
  // these samples fell in `other`, most of the 21% left unnamed.
  'docs-writer.ts': 'encode',
  'pipeline.ts': 'pipeline',
  'flush-policy.ts': 'pipeline',
  'bulk-size.ts': 'pipeline',
  'opensearch-writer.ts': 'bulk_body',
  'bulk-result.ts': 'http',
  'sink-metrics.ts': 'telemetry',
};

type Lib = 'nats' | 'http' | 'telemetry' | undefined;

function libOf(f: CallFrame): Lib {
  const u = f.url;
  if (u.includes('/@nats-io/')) return 'nats';
  if (u.includes('/@opensearch-project/') || u.includes('/node_modules/undici') || u.includes('/node_modules/hpagent')) return 'http';
  if (u.includes('/@opentelemetry/') || u.includes('/node_modules/pino') || u.includes('/prom-client/') || u.includes('/packages/runtime/src/metrics') || u.includes('/packages/runtime/src/tracing')) return 'telemetry';
  return undefined;
}

/** The sink's or the store's source file (basename) of a frame, if it is one. */
function sinkFile(url: string): string | undefined {
  return /\/(?:services\/sink|packages\/store)\/(?:src|dist)\/([^/?#]+)/.exec(url)?.[1];
}

/** The stage of one stack, leaf first. */
export function classifySinkStack(stack: readonly CallFrame[]): SinkStage {
  if (stack[0]?.functionName === '(garbage collector)') return 'gc';
  let lib: Lib;
  for (const f of stack) {
    const file = sinkFile(f.url);
    if (file !== undefined) {
      // A library called from the sink's own code is that library's work (the client's request
      // under opensearch-writer.ts is http; the pull under consume.ts is nats).
      if (lib !== undefined) return lib;
      return FILE_STAGE[file] ?? 'other';
    }
    lib ??= libOf(f);
  }
  return lib ?? 'other';
}

export const SINK_CLASSIFIER: Classifier<SinkStage> = { stages: SINK_STAGES, classify: classifySinkStack };
