// Bulk `create` into the data streams. The client retries only to fail over (at most once per
// other node, `retries`): the pipeline owns backoff, so a down cluster produces one clear state
// (unacked, backing off) instead of hidden retry storms under a timeout. A bulk retried on another
// node after a timeout may land twice in flight; `create` with the event's id makes the second a 409.
//
// Known limit: `_id` uniqueness holds per backing index. A message redelivered *after* its data
// stream rolled over (daily by default; redelivery happens within the ack wait) would land a
// second copy in the new write index. Searches that must be exact can collapse on attributes.id.
import type { Client } from '@opensearch-project/opensearch';
import { classifyBulk, type ItemOutcome } from './bulk-result.ts';
import type { SourceName } from './document.ts';
import { dataStreamName } from './templates.ts';
import { WriteUnavailable, type BulkItem, type DocumentWriter, type Frame } from './writer.ts';

export class OpenSearchWriter implements DocumentWriter {
  readonly kind = 'opensearch';
  /** The action line up to the `_id` value, per stream: the same for every document of a stream. */
  private readonly actionHead = new Map<string, string>();

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly requestTimeoutMs = 30_000,
    private readonly retries = 0,
  ) {
  }

  private head(stream: string): string {
    let h = this.actionHead.get(stream);
    if (h === undefined) {
      // Bounded: OTLP streams come from senders' service names.
      if (this.actionHead.size > 4096) this.actionHead.clear();
      h = `{"create":{"_index":${JSON.stringify(dataStreamName(this.prefix, stream as SourceName))},"_id":`;
      this.actionHead.set(stream, h);
    }
    return h;
  }

  async write(items: BulkItem[]): Promise<ItemOutcome[]> {
    if (items.length === 0) return [];
    let body: unknown;
    try {
      const res = await this.client.bulk(
        { body: this.ndjson(items), filter_path: 'items.*.status,items.*.error' } as never,
        { requestTimeout: this.requestTimeoutMs, maxRetries: this.retries },
      );
      body = res.body;
    } catch (err) {
      const e = err as { meta?: { statusCode?: number }; message?: string };
      const status = e.meta?.statusCode;
      throw new WriteUnavailable(`opensearch _bulk failed${status ? ` (HTTP ${status})` : ''}: ${e.message}`, status, {
        cause: err,
      });
    }
    return classifyBulk(body, items.length);
  }

  /** The bulk action line of a document, newline included (DocumentWriter.frame). */
  readonly frame: Frame = Object.assign((source: string, id: string): string => `${this.head(source)}${JSON.stringify(id)}}}\n`, {
    around: (source: string) => [this.head(source), '}}\n'] as const,
  });

  /**
   * The NDJSON body as one buffer (the client sends a buffer as it is). A string body was
   * flattened and scanned for its byte length by the client, then encoded again by the socket;
   * documents already encoded (BulkItem.utf8) are copied as bytes, and documents encoded with
   * their action lines (BulkItem.frameStart) that lie one after another in a buffer (a message's
   * documents, in order) are copied as one run.
   */
  ndjson(items: readonly BulkItem[]): Buffer {
    const actions = new Array<string | undefined>(items.length);
    let bound = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.utf8 !== undefined && it.frameStart !== undefined) {
        bound += it.end! - it.frameStart + 1;
        continue;
      }
      const action = this.frame(it.source, it.id);
      actions[i] = action;
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      bound += 3 * action.length + (it.utf8 !== undefined ? it.end! - it.start! : 3 * it.json.length) + 1;
    }
    const body = Buffer.allocUnsafe(bound);
    let at = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const action = actions[i];
      if (action === undefined) {
        // A run: the next items that start where this one's newline ends, in the same buffer.
        let last = it;
        while (i + 1 < items.length) {
          const next = items[i + 1]!;
          if (next.utf8 !== it.utf8 || next.frameStart !== last.end! + 1) break;
          last = next;
          i++;
        }
        at += it.utf8!.copy(body, at, it.frameStart, last.end! + 1);
        continue;
      }
      at += body.write(action, at);
      at += it.utf8 !== undefined ? it.utf8.copy(body, at, it.start, it.end) : body.write(it.json, at);
      body[at++] = 0x0a;
    }
    return body.subarray(0, at);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
