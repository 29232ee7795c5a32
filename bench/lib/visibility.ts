// Records when each document of one data stream first becomes searchable: polls `_search` every
// `intervalMs` for documents past a `_seq_no` cursor (one shard: the sink's templates make one),
// so each poll fetches only what is new. A document's latency is the send time of the first
// search that returned it minus its `@timestamp`; resolution is one poll interval.
// Lucene may make an op visible a moment after a later-numbered one (concurrent bulks), so each
// poll also asks for the sequence numbers below the newest seen that are still missing, at most
// MARGIN back; anything older still arriving late is found by the final sweep and counted in
// `late` (no latency for it) rather than hidden.
// The watch must not load the OpenSearch it measures, nor the 2 cores it shares: a `range` query on
// `_seq_no` (points, so a poll visits only the new documents, not the whole index) plus a `terms`
// query on the sequence numbers still missing below the newest (`gaps`), so a poll returns only
// documents not seen yet. Re-reading everything past the highest contiguous sequence number, as
// the watch did, fetched up to MARGIN seen documents a poll under two concurrent bulks and cost
// the bench ~0.12 cores at 10k/s. The extra fields are fetched once, by the final sweep.

const PAGE = 10_000;
const MARGIN = 2_000;

/**
 * One poll's search: the documents past `after` (a `_seq_no`) and those numbered `gaps` (below it,
 * not seen yet), oldest first, their `fields` as epoch ms.
 */
export function pollBody(after: number, rangeOk: boolean, fields: readonly string[], gaps: readonly number[] = []): object {
  const past = { range: { _seq_no: { gt: after } } };
  return {
    size: PAGE,
    _source: false,
    seq_no_primary_term: true,
    sort: [{ _seq_no: 'asc' }],
    ...(after < 0
      ? {}
      : !rangeOk
        ? { search_after: [after] }
        : gaps.length === 0
          ? { query: past }
          : { query: { bool: { should: [past, { terms: { _seq_no: gaps } }], minimum_should_match: 1 } } }),
    docvalue_fields: fields.map((field) => ({ field, format: 'epoch_millis' })),
    track_total_hits: false,
  };
}

interface Hit {
  _id: string;
  _seq_no: number;
  fields?: Record<string, string[] | undefined>;
}

export class VisibilityWatch {
  readonly latencies = new Map<string, { tsMs: number; latencyMs: number; extra?: Record<string, number> }>();
  late = 0;
  private cursor = -1;
  /** Every sequence number ≤ this was seen; `above` holds the seen ones past it. */
  private contiguous = -1;
  private readonly above = new Set<number>();
  private rangeOk = true;
  private running = false;
  private loop: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly url: string,
    private readonly index: string,
    private readonly intervalMs = 100,
    /** Further date fields to record per document (epoch ms), e.g. observedTimestamp. */
    private readonly extraFields: readonly string[] = [],
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        try {
          await this.poll(t, this.cursor, this.gaps());
        } catch (err) {
          this.failure = err;
          this.running = false;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, this.intervalMs - (Date.now() - t))));
      }
    })();
  }

  /**
   * Stops polling; a final sweep from the start counts documents the polls never returned. Without
   * the sweep (`sweep: false`) a later `start()` goes on from where the polls were.
   */
  async stop(sweep = true): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure) throw new Error(`visibility polling of ${this.index} failed: ${String(this.failure)}`);
    if (!sweep) return;
    const before = this.latencies.size;
    await this.poll(undefined, -1);
    this.late = this.latencies.size - before;
  }

  get seen(): number {
    return this.latencies.size;
  }

  /**
   * Sequence numbers below the cursor not seen yet, at most MARGIN back from it: older ones are left
   * to the final sweep (counted late).
   */
  private gaps(): number[] {
    const out: number[] = [];
    for (let q = Math.max(this.contiguous, this.cursor - MARGIN) + 1; q < this.cursor; q++) if (!this.above.has(q)) out.push(q);
    return out;
  }

  /** `sentAt` undefined: record ids only (the final sweep), no latency. */
  private async poll(sentAt: number | undefined, from: number, gaps: number[] = []): Promise<void> {
    let after = from;
    for (;;) {
      // Only what the watch reads: the bench shares the 2 cores with what it measures.
      const r = await fetch(`${this.url}/${this.index}/_search?filter_path=hits.hits._id,hits.hits._seq_no,hits.hits.fields`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(pollBody(after, this.rangeOk, ['@timestamp', ...(sentAt === undefined ? this.extraFields : [])], gaps)),
      });
      if (r.status === 404) return; // the data stream does not exist until the first document
      if (r.status === 400 && this.rangeOk && after >= 0) {
        // A server that will not range over _seq_no: page with search_after (it visits every document per poll).
        this.rangeOk = false;
        process.stderr.write(`visibility watch: no range query on _seq_no here (${(await r.text()).slice(0, 200)}); using search_after\n`);
        continue;
      }
      if (!r.ok) throw new Error(`_search on ${this.index}: HTTP ${r.status} ${await r.text()}`);
      const hits = ((await r.json()) as { hits?: { hits?: Hit[] } }).hits?.hits ?? []; // filter_path drops an empty list
      for (const h of hits) {
        this.cursor = Math.max(this.cursor, h._seq_no);
        this.seenSeq(h._seq_no);
        const known = this.latencies.get(h._id);
        if (known) {
          if (sentAt === undefined) known.extra = this.extras(h);
          continue;
        }
        const ts = Number(h.fields?.['@timestamp']?.[0]);
        if (!Number.isFinite(ts)) throw new Error(`document ${h._id} in ${this.index} has no @timestamp`);
        this.latencies.set(h._id, { tsMs: ts, latencyMs: sentAt === undefined ? NaN : sentAt - ts, ...(sentAt === undefined ? { extra: this.extras(h) } : {}) });
      }
      if (hits.length < PAGE) return;
      // The next page: past the last hit, the gaps above it still asked for.
      after = Math.max(after, hits.at(-1)!._seq_no);
      gaps = gaps.filter((q) => q > hits.at(-1)!._seq_no);
    }
  }

  private extras(h: Hit): Record<string, number> {
    const extra: Record<string, number> = {};
    for (const f of this.extraFields) {
      const v = Number(h.fields?.[f]?.[0]);
      if (Number.isFinite(v)) extra[f] = v;
    }
    return extra;
  }

  private seenSeq(seq: number): void {
    if (seq <= this.contiguous) return;
    this.above.add(seq);
    while (this.above.delete(this.contiguous + 1)) this.contiguous++;
  }
}
