// Stored egress events from the NDJSON store (the sink's embedded default), in write order. The
// time window is applied while reading; every other clause by the caller's matcher. A line that
// does not parse or fails the schema is reported, never silently skipped.
import { EgressEvent } from '@sluice/contracts';
import { readNdjsonStore } from '@sluice/store';
import type { EventFilter } from './filter.ts';

export async function* storeEvents(dir: string, f: EventFilter, onBad: (why: string) => void): AsyncGenerator<EgressEvent> {
  const window = {
    sources: ['egress' as const],
    ...(f.since !== undefined ? { since: new Date(f.since) } : {}),
    ...(f.until !== undefined ? { until: new Date(f.until) } : {}),
  };
  for await (const doc of readNdjsonStore(dir, window, (file, n, err) => onBad(`${file}:${n}: ${err.message}`))) {
    const r = EgressEvent.safeParse(doc.attributes);
    if (r.success) yield r.data;
    else onBad(`${dir}: event ${String(doc.attributes?.id ?? '?')}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
}
