// Where end-to-end latency goes, stage by stage, per document, from timestamps the pipeline
// already leaves behind. Every one is CLOCK_REALTIME of the one host, read by a different process:
//   kernel   the document's @timestamp: the helper's boot-clock ns + the reader's wall offset
//   raw      JetStream's store time of the SLUICE_RAW batch holding the record (nats-server clock)
//   enriched JetStream's store time of the SLUICE_EVENTS message holding the event (nats-server)
//   pulled   the document's observedTimestamp: the sink's Date.now() when it parsed the message
//   bulk     when the bulk reached OpenSearch: `_ingest.timestamp`, set by a bench-only ingest
//            pipeline (one `set` processor) into a bench-only mapped field (OpenSearch's JVM clock)
//   searchable  the send time of the first search that returned it (the bench's clock, 100 ms polls)
// Stage figures are the gaps between consecutive stamps; ms resolution for observed and bulk.
import type { JetStreamManager } from '@nats-io/jetstream';
import { HEADERS } from '@sluice/contracts';
import { percentile } from './stats.ts';

export const INGEST_FIELD = 'bench_ingested';

export interface DocStamps {
  kernel: number;
  raw?: number;
  enriched?: number;
  pulled?: number;
  bulk?: number;
  searchable?: number;
}

export const STAGES = [
  ['kernel_to_raw', 'kernel', 'raw'],
  ['raw_to_enriched', 'raw', 'enriched'],
  ['enriched_to_pulled', 'enriched', 'pulled'],
  ['pulled_to_bulk', 'pulled', 'bulk'],
  ['bulk_to_searchable', 'bulk', 'searchable'],
  // The two above together, for when OpenSearch has no `set` processor (the minimal distribution
  // ships without the ingest-common module) and so no bulk stamp.
  ['pulled_to_searchable', 'pulled', 'searchable'],
] as const;

/** `e2e.stage.<name>_p50_ms` / `_p99_ms` over the documents that carry both stamps of a stage. */
export function stageFigures(docs: Iterable<DocStamps>): Record<string, number> {
  const gaps = new Map<string, number[]>(STAGES.map(([n]) => [n, []]));
  for (const d of docs) {
    for (const [name, from, to] of STAGES) {
      const a = d[from];
      const b = d[to];
      if (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)) gaps.get(name)!.push(b - a);
    }
  }
  const out: Record<string, number> = {};
  for (const [name, xs] of gaps) {
    if (xs.length === 0) continue;
    out[`e2e.stage.${name}_p50_ms`] = Math.round(percentile(xs, 50));
    out[`e2e.stage.${name}_p99_ms`] = Math.round(percentile(xs, 99));
  }
  return out;
}


/**
 * Reads every message on `subject` of `stream` stored from `sinceMs` on (all when undefined) and
 * hands each to `each`. From a time, not the start: after a warm-up of 500,000 records the read
 * from the start stopped short of the burst, and its stages went missing.
 * One message get per message (the next on the subject at or after a sequence), no consumer: a few
 * hundred round trips, nothing to time out. nats.js's ordered consumer, after a missed heartbeat
 * (500 event messages of ~370 KB in one fetch), re-created itself by start sequence while keeping
 * the start time, which nats-server 2.9 refuses, and retried that forever: the e2e bench hung after
 * its burst (2026-12-02); a plain pull consumer's fetch then failed on missed heartbeats.
 */
async function readAll(jsm: JetStreamManager, stream: string, subject: string, sinceMs: number | undefined, each: (data: Uint8Array, header: (n: string) => string | undefined, storedMs: number) => void): Promise<void> {
  // next_by_subj is in nats-server 2.9's message get; nats.js types it only for direct gets.
  const next = (seq: number) => jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as { seq: number });
  const { state } = await jsm.streams.info(stream);
  let seq = state.first_seq;
  if (sinceMs !== undefined) {
    // The first sequence whose next message on the subject was stored at or after sinceMs.
    let hi = state.last_seq + 1;
    while (seq < hi) {
      const mid = Math.floor((seq + hi) / 2);
      const m = await next(mid);
      if (m === null || m.time.getTime() >= sinceMs) hi = mid;
      else seq = m.seq + 1;
    }
  }
  for (;;) {
    const m = await next(seq);
    if (m === null) return;
    each(m.data, (h) => m.header?.get(h) || undefined, m.time.getTime());
    seq = m.seq + 1;
  }
}

/** Record sequence → store time of its SLUICE_RAW batch (ids are <node>:<boot>:<seq>). */
export async function rawStoreTimes(jsm: JetStreamManager, stream: string, subject: string, sinceMs?: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  await readAll(jsm, stream, subject, sinceMs, (_d, header, t) => {
    const first = Number(header(HEADERS.firstSeq));
    const count = Number(header(HEADERS.count));
    for (let i = 0; i < count; i++) out.set(first + i, t);
  });
  return out;
}

const ID = /"id":"([^"]+)"/;

/** Event id → store time of the SLUICE_EVENTS message that carried it. */
export async function eventStoreTimes(jsm: JetStreamManager, stream: string, subject: string, sinceMs?: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const dec = new TextDecoder();
  await readAll(jsm, stream, subject, sinceMs, (data, _h, t) => {
    for (const line of dec.decode(data).split('\n')) {
      const id = ID.exec(line)?.[1];
      if (id !== undefined) out.set(id, t);
    }
  });
  return out;
}

/**
 * Installs the bench's ingest pipeline on a data stream: each document gets `INGEST_FIELD` = when
 * it reached the ingest node. Returns why not when this OpenSearch has no `set` processor.
 */
export async function stampIngest(url: string, dataStream: string): Promise<string | undefined> {
  const name = `${dataStream}-bench-ingested`;
  const put = async (path: string, body: object): Promise<void> => {
    const r = await fetch(`${url}/${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`PUT ${path}: HTTP ${r.status} ${await r.text()}`);
  };
  try {
    await put(`_ingest/pipeline/${name}`, { processors: [{ set: { field: INGEST_FIELD, value: '{{_ingest.timestamp}}' } }] });
  } catch (err) {
    if (/No processor type exists with name \[set\]/.test(String(err))) return 'this OpenSearch has no `set` ingest processor (no ingest-common module)';
    throw err;
  }
  await put(`${dataStream}/_mapping`, { properties: { [INGEST_FIELD]: { type: 'date' } } });
  await put(`${dataStream}/_settings`, { 'index.default_pipeline': name });
  return undefined;
}
