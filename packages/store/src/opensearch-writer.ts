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
import { WriteUnavailable, type BulkItem, type DocumentWriter } from './writer.ts';

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
    // The NDJSON body as one string (the client passes a string through as it is), rather than a
    // line array the client joins: one copy of every document fewer per bulk.
    let lines = '';
    for (const it of items) lines += `${this.head(it.source)}${JSON.stringify(it.id)}}}\n${it.json}\n`;
    let body: unknown;
    try {
      const res = await this.client.bulk(
        { body: lines, filter_path: 'items.*.status,items.*.error' } as never,
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

  async close(): Promise<void> {
    await this.client.close();
  }
}
