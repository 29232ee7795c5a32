// Bulk `create` into the data streams. The client's own retries are off: the pipeline owns
// backoff, so a down cluster produces one clear state (unacked, backing off) instead of hidden
// retry storms under a timeout.
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
