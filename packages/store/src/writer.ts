// The sink's output port: OpenSearch in production, rotating NDJSON files as the embedded default.
import type { SourceName } from './document.ts';
import type { ItemOutcome } from './bulk-result.ts';

export interface BulkItem {
  /** Data stream suffix (`<prefix><source>`): a SourceName, or an OTLP sender's own stream (`claude`, `otel-…`). */
  source: SourceName | (string & {});
  /** Deterministic document _id: the event id, so a redelivery is a duplicate, not a new document. */
  id: string;
  /** The serialized ss4o document (serialized once, when parsed). */
  readonly json: string;
  /**
   * The same document as UTF-8 bytes, utf8[start, end), when the caller holds it encoded already
   * (the sink's queue, see encoded-docs.ts): a bulk body copies these instead of encoding `json`.
   */
  readonly utf8?: Buffer;
  readonly start?: number;
  readonly end?: number;
  /**
   * Where this writer's own frame for the item (`frame(source, id)`) begins in utf8: the frame is
   * utf8[frameStart, start) and a newline follows the document at `end`. Items that follow each
   * other in one buffer then go into a body as one copy.
   */
  readonly frameStart?: number;
}

/**
 * A writer's line before each document. `around`, when given, says the line is always
 * `before + JSON.stringify(id) + after` for a source: then a parser that has the id's JSON as bytes
 * writes the line from them (store egress-scan.ts) instead of building it as a string.
 */
export type Frame = ((source: string, id: string) => string) & { around?: (source: string) => readonly [before: string, after: string] };

export interface DocumentWriter {
  readonly kind: 'opensearch' | 'file';
  /**
   * The line (newline included) this writer puts before a document of `source` with `id` on the
   * wire, when it has one: callers that encode documents ahead store it before each (BulkItem.frameStart).
   */
  readonly frame?: Frame;
  /** One outcome per item, in order. Throws WriteUnavailable when nothing can be said about any item. */
  write(items: BulkItem[]): Promise<ItemOutcome[]>;
  close(): Promise<void>;
}

/** The whole request failed (server away, timeout, 5xx, 413): retry everything later. */
export class WriteUnavailable extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WriteUnavailable';
  }

  get tooLarge(): boolean {
    return this.status === 413;
  }

  get throttled(): boolean {
    return this.status === 429;
  }
}
