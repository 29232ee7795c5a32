// Stored egress events from OpenSearch: the `<prefix>egress` data stream, the filter pushed down
// as a bool query (opensearch-query.ts), in time order, paged with search_after so a long window
// never needs a deep `from`. Hits that fail the schema are reported, never silently skipped.
import { EgressEvent } from '@sluice/contracts';
import { dataStreamName, openSearchClient } from '@sluice/store';
import { UsageError } from '../command.ts';
import type { EventFilter } from './filter.ts';
import { OPENSEARCH_SORT, opensearchQuery } from './opensearch-query.ts';

export interface OpenSearchTarget {
  url: string;
  /** Index prefix the sink writes under (SINK_INDEX_PREFIX), default `clawker-`. */
  prefix: string;
  pageSize?: number;
}

interface Hit {
  _id: string;
  _source: { attributes?: unknown };
  sort: unknown[];
}

export async function* opensearchEvents(t: OpenSearchTarget, f: EventFilter, onBad: (why: string) => void): AsyncGenerator<EgressEvent> {
  const index = dataStreamName(t.prefix, 'egress');
  const size = t.pageSize ?? 1000;
  const client = openSearchClient({ url: t.url, username: process.env.OPENSEARCH_USERNAME, password: process.env.OPENSEARCH_PASSWORD });
  const query = opensearchQuery(f);
  let after: unknown[] | undefined;
  try {
    for (;;) {
      let hits: Hit[];
      try {
        const res = await client.search({
          index,
          body: { size, query, sort: OPENSEARCH_SORT, ...(after ? { search_after: after } : {}) },
        } as never);
        hits = (res.body as { hits: { hits: Hit[] } }).hits.hits;
      } catch (err) {
        const e = err as { meta?: { statusCode?: number; body?: { error?: { reason?: string } } }; message?: string };
        const why = e.meta?.body?.error?.reason ?? e.message ?? String(err);
        throw new UsageError(`OpenSearch ${t.url} ${index}: ${e.meta?.statusCode ? `HTTP ${e.meta.statusCode}: ` : ''}${why}`, 1);
      }
      for (const h of hits) {
        const r = EgressEvent.safeParse(h._source.attributes);
        if (r.success) yield r.data;
        else onBad(`${index}/${h._id}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      if (hits.length < size) return;
      after = hits[hits.length - 1]!.sort;
    }
  } finally {
    await client.close();
  }
}
