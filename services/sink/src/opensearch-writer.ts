// Bulk `create` into the data streams. The client's own retries are off: the pipeline owns
// backoff, so a down cluster produces one clear state (unacked, backing off) instead of hidden
// retry storms under a timeout.
//
// Known limit: `_id` uniqueness holds per backing index. A message redelivered *after* its data
// stream rolled over (daily by default; redelivery happens within the ack wait) would land a
// second copy in the new write index. Searches that must be exact can collapse on attributes.id.
import type { Client } from '@opensearch-project/opensearch';
import { classifyBulk, type ItemOutcome } from './bulk-result.ts';
import { dataStreamName } from './templates.ts';
import { WriteUnavailable, type BulkItem, type DocumentWriter } from './writer.ts';

export class OpenSearchWriter implements DocumentWriter {
  readonly kind = 'opensearch';

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  async write(items: BulkItem[]): Promise<ItemOutcome[]> {
    if (items.length === 0) return [];
    const lines: string[] = [];
    for (const it of items) {
      lines.push(`{"create":{"_index":${JSON.stringify(dataStreamName(this.prefix, it.source))},"_id":${JSON.stringify(it.id)}}}`);
      lines.push(it.json);
    }
    let body: unknown;
    try {
      const res = await this.client.bulk(
        { body: lines, filter_path: 'items.*.status,items.*.error' } as never,
        { requestTimeout: this.requestTimeoutMs, maxRetries: 0 },
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
