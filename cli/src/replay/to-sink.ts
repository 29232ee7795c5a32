// `replay --to-sink`: re-index stream messages into OpenSearch data streams under a prefix, with
// the sink's own parsing, templates and writer, so a replayed document is byte-for-byte what the
// sink would have written, and its deterministic _id makes a second replay a no-op (duplicates).
import { subjects } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import { type SourceName, ensureTemplates, failoverRetries, openSearchClient, OpenSearchWriter, parseBatch, type BulkItem } from '@sluice/store';
import { UsageError } from '../command.ts';

export interface SinkStats {
  created: number;
  duplicates: number;
  rejected: number;
}

/** 'sluice.events.>' → 'sluice.events.': the subjects under a wildcard filter from contracts. */
const under = (filter: string) => filter.slice(0, -1);
const SOURCES: Array<[string, SourceName]> = [
  [under(subjects.eventsAll), 'egress'],
  [under(subjects.dnsAll), 'dns'],
  [under(subjects.auditAll), 'overseer'],
];

export function sourceOf(subject: string): SourceName | undefined {
  return SOURCES.find(([prefix]) => subject.startsWith(prefix))?.[1];
}

export async function sinkTarget(url: string, prefix = 'clawker-') {
  if (!url) throw new UsageError('replay --to-sink: set OPENSEARCH_URL or --opensearch URL');
  const client = openSearchClient({ url, username: process.env.OPENSEARCH_USERNAME, password: process.env.OPENSEARCH_PASSWORD });
  await ensureTemplates(client, prefix, createLogger('replay', 'warn'));
  const writer = new OpenSearchWriter(client, prefix, 30_000, failoverRetries(url));
  const stats: SinkStats = { created: 0, duplicates: 0, rejected: 0 };
  let pending: BulkItem[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const items = pending;
    pending = [];
    // A retryable outcome (429, node restarting) is retried a few times before it counts as rejected.
    let todo = items;
    for (let attempt = 0; attempt < 5 && todo.length > 0; attempt++) {
      const outcomes = await writer.write(todo);
      const again: BulkItem[] = [];
      outcomes.forEach((o, i) => {
        if (o.kind === 'created') stats.created++;
        else if (o.kind === 'duplicate') stats.duplicates++;
        else if (o.kind === 'retry') again.push(todo[i]!);
        else stats.rejected++;
      });
      todo = again;
      if (todo.length > 0) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
    stats.rejected += todo.length;
  };

  return {
    async add(subject: string, payload: string) {
      const source = sourceOf(subject);
      if (!source) {
        stats.rejected++;
        return;
      }
      const parsed = parseBatch(source, payload, new Date().toISOString());
      stats.rejected += parsed.rejects.length;
      for (const d of parsed.docs) pending.push({ source, id: d.id, json: JSON.stringify(d.doc) });
      if (pending.length >= 1000) await flush();
    },
    async flush() {
      await flush();
      await client.indices.refresh({ index: `${prefix}*` });
      await writer.close();
    },
    stats: () => ({ ...stats }),
  };
}
