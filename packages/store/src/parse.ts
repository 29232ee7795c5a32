// A NATS message carries a batch: NDJSON, one event per line. Each line stands alone: one that is
// not JSON or fails its schema is a per-document rejection (DLQ'd with the reason and the raw
// line), and the rest of the batch still lands.
import { AuditEvent, compileFastCheck, DnsEvent, EgressEvent } from '@sluice/contracts';
import type { z } from 'zod';
import { auditDocument, dnsDocument, documentHead, egressDocument, type Ss4oDocument, type SourceName } from './document.ts';
import { docAt, DocsEncoder, type EncodedDocs } from './encoded-docs.ts';

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
  /** The documents' JSON as UTF-8, written while parsing (encoded-docs.ts); absent: encode `json`. */
  encoded?: EncodedDocs;
  /** Whether `encoded` holds each document after its writer's frame (parseBatch's `frame`). */
  framed?: boolean;
}

/** The line a writer puts before each document on the wire (DocumentWriter.frame). */
export type Frame = (stream: string, id: string) => string;

/** A document whose JSON lives in its batch's buffer: `json` decodes it again (DLQ, files, tests). */
class EncodedDoc implements ParsedDoc {
  constructor(
    readonly id: string,
    readonly doc: Ss4oDocument,
    private readonly batch: ParsedBatch,
    private readonly index: number,
  ) {}

  get json(): string {
    return docAt(this.batch.encoded!, this.index);
  }
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
 * Parse, validate and serialize one message's events. Each document's JSON goes straight into the
 * batch's UTF-8 buffer (`encoded`), after `frame(source, id)` when a writer gives one: no string per
 * document is built, flattened and encoded again later. Serializing `attributes` was most of the
 * sink's CPU per event, so when the schema kept every top-level key of the input (no unknown keys
 * stripped; values are never transformed) the validated input line *is* that JSON and goes in as
 * it came.
 */
export function parseBatch(source: SourceName, payload: string, observed: string, frame?: Frame): ParsedBatch {
  const out: ParsedBatch = { docs: [], rejects: [] };
  const enc = new DocsEncoder();
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
    let e: { id: string };
    let asIs: boolean;
    if (fast?.(value)) {
      e = value as { id: string };
      asIs = true;
    } else {
      const r = schema.safeParse(value);
      if (!r.success) {
        out.rejects.push({ kind: 'schema', reason: `line ${i + 1}: ${schemaReason(r.error)}`, raw, line: i + 1 });
        continue;
      }
      e = r.data;
      asIs = Object.keys(value as object).length === Object.keys(r.data).length;
    }
    const doc = build(e as never, observed);
    enc.begin(frame === undefined ? '' : frame(source, e.id));
    if (asIs) {
      enc.push(documentHead(doc));
      enc.push(raw.trim());
      enc.end('}');
    } else {
      enc.push(JSON.stringify(doc));
      enc.end();
    }
    out.docs.push(new EncodedDoc(e.id, doc, out, out.docs.length));
  }
  out.encoded = enc.finish();
  out.framed = frame !== undefined;
  return out;
}
