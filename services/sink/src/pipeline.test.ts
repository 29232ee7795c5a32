// The pipeline against a scripted writer: the only way to make OpenSearch fail exactly when a test
// needs it. The real server is exercised in sink.int.test.ts.
import { createLogger } from '@sluice/runtime';
import { describe, expect, it } from 'vitest';
import { egressEvent, FakeClock, ndjson, settle } from '@sluice/testkit/unit';
import { type ItemOutcome, openSearchClient, OpenSearchWriter, parseBatch, WriteUnavailable, type BulkItem, type DocumentWriter } from '@sluice/store';
import { Backoff, BulkSizer } from './bulk-size.ts';
import { Pipeline, type AckHandle, type DlqEntry } from './pipeline.ts';
import type { SinkCounters } from './sink-metrics.ts';

class Handle implements AckHandle {
  acks = 0;
  naks = 0;
  workings = 0;
  ack(): void {
    this.acks++;
  }
  nak(): void {
    this.naks++;
  }
  working(): void {
    this.workings++;
  }
}

class ScriptedWriter implements DocumentWriter {
  readonly kind = 'opensearch';
  calls: BulkItem[][] = [];
  stored = new Set<string>();
  /** Each call takes the next script entry; absent → accept everything. */
  script: Array<'down' | ((items: BulkItem[]) => ItemOutcome[])> = [];
  async write(items: BulkItem[]): Promise<ItemOutcome[]> {
    this.calls.push(items);
    const step = this.script.shift();
    if (step === 'down') throw new WriteUnavailable('connect ECONNREFUSED');
    if (step) return step(items);
    return items.map((it) => {
      if (this.stored.has(it.id)) return { kind: 'duplicate' };
      this.stored.add(it.id);
      return { kind: 'created' };
    });
  }
  async close(): Promise<void> {}
}

function counters() {
  const c = { created: 0, duplicate: 0, rejected: {} as Record<string, number>, acked: 0, dlq: 0 };
  const s: SinkCounters = {
    created: (n = 1) => void (c.created += n),
    duplicate: (n = 1) => void (c.duplicate += n),
    rejected: (k, n = 1) => void (c.rejected[k] = (c.rejected[k] ?? 0) + n),
    retried: () => {},
    dlq: (n) => void (c.dlq += n),
    acked: () => void c.acked++,
    bulk: () => {},
  };
  return { c, s };
}

function setup(writer: DocumentWriter, over: { maxBufferedDocs?: number; clock?: FakeClock } = {}) {
  const { c, s } = counters();
  const dlq: DlqEntry[] = [];
  const p = new Pipeline({
    writer,
    dlq: async (entries) => void dlq.push(...entries),
    sizer: new BulkSizer({ min: 1, max: 50, targetMs: 1000 }),
    backoff: new Backoff(1, 5),
    concurrency: 2,
    maxBufferedDocs: over.maxBufferedDocs ?? 1000,
    lingerMs: 0,
    keepAliveMs: 5,
    counters: s,
    log: createLogger('sink-test', 'silent'),
    clock: over.clock,
  });
  return { p, c, dlq };
}

const batch = (from: number, n: number) => parseBatch('egress', ndjson(Array.from({ length: n }, (_, i) => egressEvent(from + i))), 'now');
const meta = (seq: number) => ({ source: 'egress' as const, subject: 'sluice.events.proj.a.ALLOWED', seq });

describe('Pipeline', () => {
  it('acks each message once all of its documents are stored', async () => {
    const w = new ScriptedWriter();
    const { p, c } = setup(w);
    const handles = [new Handle(), new Handle(), new Handle()];
    for (const [i, h] of handles.entries()) p.add(h, meta(i), batch(i * 100, 30));
    await p.drain();
    p.close();
    expect(handles.map((h) => h.acks)).toEqual([1, 1, 1]);
    expect(w.stored.size).toBe(90);
    expect(c.created).toBe(90);
  });

  it('holds messages unacked while the store is down and lands everything when it returns', async () => {
    const w = new ScriptedWriter();
    w.script = ['down', 'down', 'down'];
    const { p, c } = setup(w);
    const h = new Handle();
    p.add(h, meta(1), batch(0, 20));
    await p.drain();
    p.close();
    expect(w.calls.length).toBeGreaterThanOrEqual(4);
    expect(h.acks).toBe(1);
    expect(h.naks).toBe(0);
    expect(c.created).toBe(20);
  });

  it('counts a redelivered message as duplicates and acks it again', async () => {
    const w = new ScriptedWriter();
    const { p, c } = setup(w);
    const first = new Handle();
    const again = new Handle();
    p.add(first, meta(1), batch(0, 10));
    p.add(again, meta(1), batch(0, 10));
    await p.drain();
    p.close();
    expect([first.acks, again.acks]).toEqual([1, 1]);
    expect([c.created, c.duplicate]).toEqual([10, 10]);
  });

  it('DLQs parse and store rejections, retries transient ones, then acks', async () => {
    const w = new ScriptedWriter();
    w.script = [
      (items) =>
        items.map((_, i): ItemOutcome =>
          i === 0 ? { kind: 'reject', reason: 'mapper_parsing_exception: no' } : i === 1 ? { kind: 'retry', reason: '429' } : { kind: 'created' },
        ),
    ];
    const { p, c, dlq } = setup(w);
    const h = new Handle();
    const b = batch(0, 4);
    const bad = parseBatch('egress', 'garbage', 'now');
    p.add(h, meta(7), { docs: b.docs, rejects: bad.rejects });
    await p.drain();
    p.close();
    expect(h.acks).toBe(1);
    expect(dlq.map((d) => [d.kind, d.seq])).toEqual([
      ['not_json', 7],
      ['opensearch', 7],
    ]);
    expect(JSON.parse(dlq[1]!.raw).attributes.id).toBe('node-t:boot:0');
    expect(c.rejected).toEqual({ not_json: 1, opensearch: 1 });
    // The refused-for-now document went out a second time, alone.
    expect(w.calls[1]!.map((i) => i.id)).toEqual(['node-t:boot:1']);
    expect(c.created).toBe(3);
  });

  it('acks a message that had only rejected lines, after the DLQ took them', async () => {
    const { p, dlq } = setup(new ScriptedWriter());
    const h = new Handle();
    p.add(h, meta(3), parseBatch('egress', '{}\nnope', 'now'));
    await p.drain();
    expect(h.acks).toBe(1);
    expect(dlq.length).toBe(2);
    p.close();
  });

  it('naks (does not ack) when the DLQ publish fails', async () => {
    const { s } = counters();
    const p = new Pipeline({
      writer: new ScriptedWriter(),
      dlq: async () => {
        throw new Error('nats down');
      },
      sizer: new BulkSizer({ min: 1, max: 50, targetMs: 1000 }),
      backoff: new Backoff(1, 5),
      concurrency: 1,
      maxBufferedDocs: 100,
      lingerMs: 0,
      keepAliveMs: 1000,
      counters: s,
      log: createLogger('sink-test', 'silent'),
    });
    const h = new Handle();
    p.add(h, meta(3), parseBatch('egress', 'nope', 'now'));
    await p.drain();
    expect([h.acks, h.naks]).toEqual([0, 1]);
    p.close();
  });

  it('withholds room while the buffer is full, keeping held messages alive', async () => {
    const w = new ScriptedWriter();
    w.script = Array.from({ length: 6 }, () => 'down' as const);
    const clock = new FakeClock();
    const { p } = setup(w, { maxBufferedDocs: 10, clock });
    const h = new Handle();
    p.add(h, meta(1), batch(0, 20));
    let roomy = false;
    void p.room().then(() => (roomy = true));
    // One keep-alive period (5 ms); the backoff (at least 1 ms a retry) cannot get through six
    // failures in that time, so the store is still down.
    await clock.advance(5);
    expect(w.calls.length).toBeLessThan(7);
    expect(roomy).toBe(false);
    expect(h.workings).toBeGreaterThan(0);
    await clock.until('room once the store is back', () => roomy);
    let drained = false;
    void p.drain().then(() => (drained = true));
    await clock.until('the pipeline drains', () => drained);
    p.close();
    expect(h.acks).toBe(1);
  });

  it('reads ahead only one bulk per sending slot, and pulls again as soon as a bulk goes out', async () => {
    // Bulks of 50, 2 in flight: room while fewer than 100 documents wait unsent, far below the
    // 1000-document buffer bound.
    const w = new ScriptedWriter();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = async (items: BulkItem[]): Promise<ItemOutcome[]> => {
      await gate;
      return items.map(() => ({ kind: 'created' }));
    };
    // The script's steps are synchronous in type; `write` awaits whatever they return.
    w.script = [held, held] as unknown as typeof w.script;
    const { p } = setup(w);
    let roomy = false;
    const h = new Handle();
    p.add(h, meta(1), batch(0, 220)); // 100 go out at once, 120 wait
    void p.room().then(() => (roomy = true));
    // No timer is involved (linger 0): once pending promise work has run, nothing more happens
    // until the gate opens.
    await settle();
    expect(p.buffered).toBe(220);
    expect(roomy).toBe(false);
    release();
    // The next two bulks go out and leave 20 waiting: room again.
    await settle();
    expect(roomy).toBe(true);
    await p.drain();
    p.close();
    expect(h.acks).toBe(1);
  });

  it('pulls as many messages as fill the read-ahead room, judged by the source\'s message sizes', async () => {
    // Bulks of 50, 2 in flight: room for 100 unsent documents.
    const w = new ScriptedWriter();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.script = [async (items: BulkItem[]) => (await gate, items.map(() => ({ kind: 'created' }) as const))] as unknown as typeof w.script;
    const { p } = setup(w);
    // Nothing seen from a source yet: the caller's own maximum.
    expect(p.pullSize('egress', 16)).toBe(16);
    const h = new Handle();
    p.add(h, meta(1), batch(0, 40)); // 40 documents a message; with no linger they go out as one bulk
    await settle();
    // The first bulk (40) is out, nothing waits: 100 of room, 40 a message.
    expect(p.pullSize('egress', 16)).toBe(3);
    expect(p.pullSize('egress', 2)).toBe(2);
    expect(p.pullSize('dns', 16)).toBe(16);
    release();
    await p.drain();
    p.close();
    expect(h.acks).toBe(1);
  });
});

describe('Pipeline with a framing writer', () => {
  // The OpenSearch writer's own body builder, over whatever the pipeline hands it: documents
  // parsed with its frames lie in their message's buffer as the body wants them.
  class BodyWriter implements DocumentWriter {
    readonly kind = 'opensearch';
    readonly os = new OpenSearchWriter(openSearchClient({ url: 'http://127.0.0.1:1' }), 'p-');
    readonly frame = this.os.frame;
    bodies: string[] = [];
    calls: BulkItem[][] = [];
    script: Array<(items: BulkItem[]) => ItemOutcome[]> = [];
    async write(items: BulkItem[]): Promise<ItemOutcome[]> {
      this.calls.push(items);
      this.bodies.push(this.os.ndjson(items).toString('utf8'));
      return (this.script.shift() ?? ((its) => its.map((): ItemOutcome => ({ kind: 'created' }))))(items);
    }
    async close(): Promise<void> {}
  }
  const expectBody = (items: Array<{ id: string; json: string }>) =>
    items.map((d) => `{"create":{"_index":"p-egress","_id":${JSON.stringify(d.id)}}}\n${d.json}\n`).join('');

  it('sends framed documents, also across messages and after a partial retry, byte for byte', async () => {
    const w = new BodyWriter();
    w.script = [(items) => items.map((_, i): ItemOutcome => (i === 3 ? { kind: 'retry', reason: '429' } : { kind: 'created' }))];
    const { p, c } = setup(w);
    const framed = (from: number, n: number) =>
      parseBatch('egress', ndjson(Array.from({ length: n }, (_, i) => egressEvent(from + i, { comm: i === 1 ? 'é😀' : 'curl' }))), 'now', p.frame);
    const [a, b] = [framed(0, 30), framed(100, 30)];
    const [ha, hb] = [new Handle(), new Handle()];
    p.add(ha, meta(1), a);
    p.add(hb, meta(2), b);
    await p.drain();
    p.close();
    const all = [...a.docs, ...b.docs];
    // Every body (runs of a message's documents, the retried fourth one again later) is whole.
    for (const [i, items] of w.calls.entries()) expect(w.bodies[i]).toBe(expectBody(items));
    const sent = w.calls.flat().map((it) => it.id);
    expect(sent.filter((id) => id === all[3]!.id)).toHaveLength(2);
    expect(new Set(sent)).toEqual(new Set(all.map((d) => d.id)));
    expect([ha.acks, hb.acks]).toEqual([1, 1]);
    expect(c.created).toBe(60);
  });
});
