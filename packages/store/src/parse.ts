// A NATS message carries a batch: NDJSON, one event per line. Each line stands alone: one that is
// not JSON or fails its schema is a per-document rejection (DLQ'd with the reason and the raw
// line), and the rest of the batch still lands.
import { AuditEvent, compileFastCheck, DnsEvent, EgressEvent } from '@sluice/contracts';
import type { z } from 'zod';
import { auditDocument, checkedDocumentHead, dnsDocument, egressDocument, type Ss4oDocument, type SourceName } from './document.ts';
import { DocsWriter } from './docs-writer.ts';
import { docAt, type EncodedDocs } from './encoded-docs.ts';
import { EgressScan } from './egress-scan.ts';
import type { Frame } from './writer.ts';

const NEWLINE = 0x0a;

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

/**
 * A document the egress scanner wrote from the line's bytes (egress-scan.ts): no event object was
 * made, so `doc` is built from the line when someone asks (the sink never does: it sends `json`).
 */
class ScannedDoc implements ParsedDoc {
  constructor(
    readonly id: string,
    private readonly batch: ParsedBatch,
    private readonly index: number,
    private readonly bytes: Buffer,
    private readonly from: number,
    private readonly to: number,
    private readonly observed: string,
  ) {}

  get doc(): Ss4oDocument {
    return egressDocument(JSON.parse(this.bytes.toString('utf8', this.from, this.to)) as EgressEvent, this.observed);
  }

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

// Egress lines, the bulk of the traffic, are first tried byte by byte (egress-scan.ts).
const egressScanner = EgressScan.create();
let egressScan = egressScanner;

/** Turn the egress byte scanner off or on (tests and benches compare the two paths). */
export function useEgressScan(on: boolean): void {
  egressScan = on ? egressScanner : undefined;
}

/** Whether the egress byte scanner made this document (tests prove it is taken). */
export const isScanned = (d: ParsedDoc): boolean => d instanceof ScannedDoc;

/** Which sources have a fast check (a test keeps the hot ones from silently losing it). */
export const fastChecked = (source: SourceName): boolean => builders[source].fast !== undefined;

function schemaReason(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** JSON's whitespace (RFC 8259): what may stand around a value on its line. */
const isJsonSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const REPLACEMENT = '\uFFFD';

/**
 * Parse, validate and serialize one message's events. Each document's bytes go straight into the
 * batch's UTF-8 buffer (`encoded`, docs-writer.ts), after `frame(source, id)` when a writer gives
 * one: no string per document is built, flattened and encoded again later. Serializing
 * `attributes` was most of the sink's CPU per event, so when the schema kept every top-level key of
 * the input (no unknown keys stripped; values are never transformed) the validated input line *is*
 * that JSON, and its own bytes are copied in as they came.
 *
 * `payload` is the message's bytes as they came off the wire (a string is encoded first). Lines are
 * found in the bytes and each is decoded on its own: decoding the whole message into one string
 * and splitting it cost as much again, and one non-Latin-1 character made every line a two-byte
 * string.
 */
export function parseBatch(source: SourceName, payload: string | Uint8Array, observed: string, frame?: Frame): ParsedBatch {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: ParsedBatch = { docs: [], rejects: [] };
  // A document is its line plus its head (~250 bytes) and frame (~80): twice the input is enough
  // for lines of a few hundred bytes; the writer grows past it when not.
  const w = new DocsWriter(bytes.length * 2 + 1024);
  const { schema, fast, build } = builders[source];
  const scan = source === 'egress' ? egressScan : undefined;
  const n = bytes.length;
  let lineNo = 0;
  for (let from = 0; from <= n; ) {
    let nl = bytes.indexOf(NEWLINE, from);
    if (nl < 0) nl = n;
    const lineStart = from;
    from = nl + 1;
    lineNo++;
    // The value's own bytes, without the whitespace JSON allows around it.
    let s = lineStart;
    let e = nl;
    while (s < e && isJsonSpace(bytes[s]!)) s++;
    while (e > s && isJsonSpace(bytes[e - 1]!)) e--;
    if (s === e) continue;
    if (scan !== undefined) {
      const id = scan.write(w, bytes, s, e, observed, frame);
      if (id !== undefined) {
        out.docs.push(new ScannedDoc(id, out, out.docs.length, bytes, s, e, observed));
        continue;
      }
    }
    const raw = bytes.toString('utf8', lineStart, nl);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      // Other Unicode spaces alone on a line are a blank line too, as String.prototype.trim says.
      if (raw.trim() === '') continue;
      out.rejects.push({ kind: 'not_json', reason: `line ${lineNo}: ${(err as Error).message}`, raw, line: lineNo });
      continue;
    }
    let e2: { id: string };
    let asIs: boolean;
    if (fast?.(value)) {
      e2 = value as { id: string };
      asIs = true;
    } else {
      const r = schema.safeParse(value);
      if (!r.success) {
        out.rejects.push({ kind: 'schema', reason: `line ${lineNo}: ${schemaReason(r.error)}`, raw, line: lineNo });
        continue;
      }
      e2 = r.data;
      asIs = Object.keys(value as object).length === Object.keys(r.data).length;
    }
    const doc = build(e2 as never, observed);
    const f = frame === undefined ? '' : frame(source, e2.id);
    if (!asIs) {
      w.begin(f, JSON.stringify(doc));
      w.end(false);
    } else {
      // The line passed its schema, `time` its ISO datetime check: checkedDocumentHead's premise.
      w.begin(f, checkedDocumentHead(doc));
      // Bytes that were not UTF-8 decoded as U+FFFD: the document then carries the decoded text
      // (as it did when the whole message was decoded first), never the invalid bytes.
      if (raw.includes(REPLACEMENT)) w.text(raw.trim());
      else w.bytes(bytes, s, e);
      w.end(true);
    }
    out.docs.push(new EncodedDoc(e2.id, doc, out, out.docs.length));
  }
  out.encoded = w.finish();
  out.framed = frame !== undefined;
  return out;
}
