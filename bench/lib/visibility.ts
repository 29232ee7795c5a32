// Records when each document of one data stream first becomes searchable: polls `_search` every
// `intervalMs` for documents past a `_seq_no` cursor (one shard: the sink's templates make one),
// so each poll fetches only what is new. A document's latency is the send time of the first
// search that returned it minus its `@timestamp`; resolution is one poll interval.
// Lucene may make an op visible a moment after a later-numbered one (concurrent bulks), so the
// cursor trails by MARGIN and ids already seen are skipped; anything older still arriving late is
// found by the final sweep and counted in `late` (no latency for it) rather than hidden.

const PAGE = 10_000;
const MARGIN = 2_000;

interface Hit {
  _id: string;
  _seq_no: number;
  fields?: Record<string, string[] | undefined>;
}

export class VisibilityWatch {
  readonly latencies = new Map<string, { tsMs: number; latencyMs: number; extra?: Record<string, number> }>();
  late = 0;
  private cursor = -1;
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
          await this.poll(t, this.cursor - MARGIN);
        } catch (err) {
          this.failure = err;
          this.running = false;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, this.intervalMs - (Date.now() - t))));
      }
    })();
  }

  /** Stops polling; a final sweep from the start counts documents the polls never returned. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure) throw new Error(`visibility polling of ${this.index} failed: ${String(this.failure)}`);
    const before = this.latencies.size;
    await this.poll(undefined, -1);
    this.late = this.latencies.size - before;
  }

  get seen(): number {
    return this.latencies.size;
  }

  /** `sentAt` undefined: record ids only (the final sweep), no latency. */
  private async poll(sentAt: number | undefined, from: number): Promise<void> {
    let after = from;
    for (;;) {
      const r = await fetch(`${this.url}/${this.index}/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          size: PAGE,
          _source: false,
          seq_no_primary_term: true,
          sort: [{ _seq_no: 'asc' }],
          ...(after >= 0 ? { search_after: [after] } : {}),
          docvalue_fields: ['@timestamp', ...this.extraFields].map((field) => ({ field, format: 'epoch_millis' })),
          track_total_hits: false,
        }),
      });
      if (r.status === 404) return; // the data stream does not exist until the first document
      if (!r.ok) throw new Error(`_search on ${this.index}: HTTP ${r.status} ${await r.text()}`);
      const hits = ((await r.json()) as { hits: { hits: Hit[] } }).hits.hits;
      for (const h of hits) {
        this.cursor = Math.max(this.cursor, h._seq_no);
        if (this.latencies.has(h._id)) continue;
        const ts = Number(h.fields?.['@timestamp']?.[0]);
        if (!Number.isFinite(ts)) throw new Error(`document ${h._id} in ${this.index} has no @timestamp`);
        const extra: Record<string, number> = {};
        for (const f of this.extraFields) {
          const v = Number(h.fields?.[f]?.[0]);
          if (Number.isFinite(v)) extra[f] = v;
        }
        this.latencies.set(h._id, { tsMs: ts, latencyMs: sentAt === undefined ? NaN : sentAt - ts, extra });
      }
      if (hits.length < PAGE) return;
      after = hits.at(-1)!._seq_no;
    }
  }
}
