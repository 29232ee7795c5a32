// A NATS message carries a batch: NDJSON, one event per line. Each line stands alone: one that is
// not JSON or fails its schema is a per-document rejection (DLQ'd with the reason and the raw
// line), and the rest of the batch still lands.
import { AuditEvent, DnsEvent, EgressEvent } from '@sluice/contracts';
import type { z } from 'zod';
import { auditDocument, dnsDocument, documentJson, egressDocument, type Ss4oDocument, type SourceName } from './document.ts';
import { compileFastCheck } from './fast-check.ts';

export interface ParsedDoc {
  id: string;
  doc: Ss4oDocument;
  /** `doc` serialized, as the writers send it. */
  json: string;
  /** The data stream suffix when it is the document's own (OTLP senders), not its binding's source. */
  stream?: string;
}

export interface Rejection {
  /** Short machine word for the metric label: not_json | schema | opensearch. */
  kind: 'not_json' | 'schema' | 'opensearch';
  reason: string;
  raw: string;
  /** 1-based line number inside the NATS message. */
  line: number;
}

export interface ParsedBatch {
  docs: ParsedDoc[];
  rejects: Rejection[];
}

// `fast`: an accept-only check compiled from the schema (fast-check.ts); where it says yes, zod
// would accept the line and return it unchanged, so zod is skipped. Every rejection (and its
// message) still comes from zod.
const builders = {
  egress: { schema: EgressEvent, fast: compileFastCheck(EgressEvent), build: egressDocument },
  dns: { schema: DnsEvent, fast: compileFastCheck(DnsEvent), build: dnsDocument },
  overseer: { schema: AuditEvent, fast: compileFastCheck(AuditEvent), build: auditDocument },
} as const satisfies Record<
  SourceName,
  { schema: z.ZodType; fast: ((v: unknown) => boolean) | undefined; build: (e: never, observed: string) => Ss4oDocument }
>;

/** Which sources have a fast check (a test keeps the hot ones from silently losing it). */
export const fastChecked = (source: SourceName): boolean => builders[source].fast !== undefined;

function schemaReason(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Serialize a document. Serializing `attributes` is most of the sink's CPU per event, and when the
 * schema kept every top-level key of the input (no unknown keys stripped; values are never
 * transformed) the validated input line *is* that JSON, so it is spliced in as it came.
 */
function serialize(doc: Ss4oDocument, input: object, parsed: object, raw: string): string {
  if (Object.keys(input).length !== Object.keys(parsed).length) return JSON.stringify(doc);
  return documentJson(doc, raw.trim());
}

export function parseBatch(source: SourceName, payload: string, observed: string): ParsedBatch {
  const out: ParsedBatch = { docs: [], rejects: [] };
  const { schema, fast, build } = builders[source];
  const lines = payload.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.rejects.push({ kind: 'not_json', reason: `line ${i + 1}: ${(err as Error).message}`, raw, line: i + 1 });
      continue;
    }
    if (fast?.(value)) {
      const e = value as { id: string };
      const doc = build(e as never, observed);
      out.docs.push({ id: e.id, doc, json: documentJson(doc, raw.trim()) });
      continue;
    }
    const r = schema.safeParse(value);
    if (!r.success) {
      out.rejects.push({ kind: 'schema', reason: `line ${i + 1}: ${schemaReason(r.error)}`, raw, line: i + 1 });
      continue;
    }
    const doc = build(r.data as never, observed);
    out.docs.push({ id: r.data.id, doc, json: serialize(doc, value as object, r.data, raw) });
  }
  return out;
}
