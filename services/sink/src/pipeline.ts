// The at-least-once core. NATS messages (each a batch of documents) are held unacked while their
// documents wait in one queue, go out in bulks of adaptive size with bounded concurrency, and a
// message is acked only when every one of its documents is settled: created, a duplicate of an
// earlier delivery, or rejected and published to the DLQ. When the writer is away the queue stops
// moving, `room()` blocks (so the consumer stops pulling), held messages are kept alive with
// `working()`, and the pipeline retries with capped exponential backoff.
import { type Logger, type TimerHandle, type Timers, realTimers } from '@sluice/runtime';
import type { Backoff, BulkSizer } from './bulk-size.ts';
import { sendAt } from './flush-policy.ts';
import { type SourceName, type ParsedBatch, type Rejection, WriteUnavailable, type BulkItem, type DocumentWriter, encodeDocs, type Frame } from '@sluice/store';
import type { SinkCounters } from './sink-metrics.ts';

/** What a consumer binding reads: one of the event sources, or the OTLP logs (whose documents name their own streams). */
export type BindingSource = SourceName | 'otel';

/** The part of a JetStream message the pipeline needs (JsMsg satisfies it). */
export interface AckHandle {
  ack(): void;
  nak(millis?: number): void;
  working(): void;
}

export interface MessageMeta {
  source: BindingSource;
  subject: string;
  /** Stream sequence, for the DLQ record and its dedupe id. */
  seq: number;
}

export interface DlqEntry extends Rejection, MessageMeta {}

export interface PipelineOptions {
  writer: DocumentWriter;
  /** Publish one message's rejections durably; throws when it could not. */
  dlq: (entries: DlqEntry[], meta: MessageMeta) => Promise<void>;
  sizer: BulkSizer;
  backoff: Backoff;
  concurrency: number;
  maxBufferedDocs: number;
  /** How long a partial bulk may gather while another bulk is out (flush-policy.ts); none out: sent at once. */
  lingerMs: number;
  /** Interval for `working()` on held messages; keep it under the consumer's ack wait. */
  keepAliveMs: number;
  counters: SinkCounters;
  log: Logger;
  onAvailability?: (ok: boolean, detail: string) => void;
  /** Linger, backoff and keep-alive timing; the real clock unless a test drives its own. */
  clock?: Timers;
}

interface Held {
  handle: AckHandle;
  meta: MessageMeta;
  remaining: number;
  rejects: Rejection[];
}

/**
 * A queued document is itself the writer's item (one object per document, not two), its JSON kept
 * as bytes in its message's buffer (encoded-docs.ts), decoded again only for the DLQ or a file.
 */
class Queued implements BulkItem {
  constructor(
    readonly source: BulkItem['source'],
    readonly id: string,
    readonly utf8: Buffer,
    readonly start: number,
    readonly end: number,
    readonly owner: Held,
    readonly at: number,
    readonly frameStart: number | undefined,
  ) {}

  get json(): string {
    return this.utf8.toString('utf8', this.start, this.end);
  }
}

export class Pipeline {
  private queue: Queued[] = [];
  private readonly held = new Set<Held>();
  private inflight = 0;
  private inflightDocs = 0;
  private pausedUntil = 0;
  private timer: TimerHandle | undefined;
  private readonly keepAlive: TimerHandle;
  private waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private flushing = false;
  private available = true;
  private readonly clock: Timers;
  /** Recent documents per message, per source: how many messages fill the read-ahead room. */
  private readonly perMessage = new Map<BindingSource, number>();

  constructor(private readonly o: PipelineOptions) {
    this.clock = o.clock ?? realTimers;
    this.keepAlive = this.clock.setInterval(() => {
      for (const h of this.held) h.handle.working();
    }, o.keepAliveMs);
  }

  get buffered(): number {
    return this.queue.length + this.inflightDocs;
  }

  get heldMessages(): number {
    return this.held.size;
  }

  /**
   * Take one message's parsed batch. Never blocks: the message is held (and kept alive) from this
   * moment; callers pull only after `room()` resolves, which bounds the buffer.
   */
  add(handle: AckHandle, meta: MessageMeta, batch: ParsedBatch): void {
    for (const r of batch.rejects) this.o.counters.rejected(r.kind);
    const seen = this.perMessage.get(meta.source);
    this.perMessage.set(meta.source, seen === undefined ? batch.docs.length : seen + (batch.docs.length - seen) / 4);
    const owner: Held = { handle, meta, remaining: batch.docs.length, rejects: [...batch.rejects] };
    this.held.add(owner);
    if (owner.remaining === 0) {
      void this.finish(owner);
      return;
    }
    const at = this.clock.now();
    // Encoded while parsing, with this writer's frames (consume.ts passes `frame`); otherwise here.
    const frame = this.o.writer.frame;
    const enc =
      batch.encoded ??
      encodeDocs(
        batch.docs.map((d) => d.json),
        frame && batch.docs.map((d) => frame(d.stream ?? meta.source, d.id)),
      );
    const framed = frame !== undefined && (batch.encoded === undefined || batch.framed === true);
    for (let i = 0; i < batch.docs.length; i++) {
      const d = batch.docs[i]!;
      const start = enc.docStarts[i]!;
      this.queue.push(new Queued(d.stream ?? meta.source, d.id, enc.utf8, start, enc.starts[i + 1]! - 1, owner, at, framed ? enc.starts[i]! : undefined));
    }
    this.pump();
  }

  /** The writer's frame, for parsers that encode documents ahead (ParsedBatch.encoded). */
  get frame(): Frame | undefined {
    return this.o.writer.frame;
  }

  /** Resolves when the buffer has room for more documents (backpressure for the consumer). */
  async room(): Promise<void> {
    while (!this.hasRoom()) await new Promise<void>((r) => this.waiters.push(r));
  }

  /**
   * Below the hard bound, read ahead only as far as the next bulks need: one bulk's worth per
   * sending slot waiting, parsed while the bulks in flight are out. Parsing a whole backlog ahead
   * (up to maxBufferedDocs) gains nothing, and keeping tens of thousands of parsed documents alive
   * made garbage collection the sink's largest CPU cost, taken from OpenSearch on a small machine.
   */
  private hasRoom(): boolean {
    return this.buffered < this.o.maxBufferedDocs && this.queue.length < this.o.sizer.size * this.o.concurrency;
  }

  /**
   * How many messages of `source` to pull now, at most `max`: as many as fill the read-ahead room,
   * judged by that source's recent message sizes. A fixed pull of 16 messages of 500 events queued
   * 8,000 parsed documents where the room was for 2,000, and every document parsed that far ahead
   * lives through garbage collections it need not have seen.
   */
  pullSize(source: BindingSource, max: number): number {
    const per = this.perMessage.get(source);
    if (per === undefined || per < 1) return max;
    const room = Math.min(this.o.maxBufferedDocs - this.buffered, this.o.sizer.size * this.o.concurrency - this.queue.length);
    return Math.max(1, Math.min(max, Math.ceil(room / per)));
  }

  /** Send what is queued without lingering and resolve when nothing is queued, in flight or held. */
  async drain(): Promise<void> {
    this.flushing = true;
    this.pump();
    while (this.queue.length > 0 || this.inflight > 0 || this.held.size > 0) {
      await new Promise<void>((r) => this.idleWaiters.push(r));
    }
  }

  close(): void {
    this.clock.clearInterval(this.keepAlive);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
  }

  private pump(): void {
    while (this.inflight < this.o.concurrency && this.queue.length > 0) {
      const now = this.clock.now();
      if (now < this.pausedUntil) return this.schedule(this.pausedUntil);
      const size = this.o.sizer.size;
      const at = sendAt({ queued: this.queue.length, size, inflight: this.inflight, flushing: this.flushing, oldestAt: this.queue[0]!.at, lingerMs: this.o.lingerMs });
      if (now < at) return this.schedule(at);
      const batch = this.queue.splice(0, size);
      this.inflight++;
      this.inflightDocs += batch.length;
      // Taking a bulk off the queue may open read-ahead room: pull the next messages now, so they
      // are parsed while this bulk is out.
      if (this.waiters.length > 0 && this.hasRoom()) for (const w of this.waiters.splice(0)) w();
      void this.send(batch).finally(() => {
        this.inflight--;
        this.inflightDocs -= batch.length;
        this.wake();
        this.pump();
      });
    }
  }

  private wake(): void {
    if (this.hasRoom()) for (const w of this.waiters.splice(0)) w();
    if (this.queue.length === 0 && this.inflight === 0 && this.held.size === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private setAvailable(ok: boolean, detail: string): void {
    if (ok === this.available) return;
    this.available = ok;
    if (ok) this.o.log.info('document store available again');
    else this.o.log.warn({ detail }, 'document store unavailable; holding messages unacked and backing off');
    this.o.onAvailability?.(ok, detail);
  }

  private retryLater(items: Queued[], detail: string): void {
    // Front of the queue: these were waiting longest, and order within a message is kept.
    this.queue = items.concat(this.queue);
    this.pausedUntil = this.clock.now() + this.o.backoff.next();
    this.o.counters.retried(items.length);
    this.o.log.debug({ docs: items.length, detail, resumeInMs: this.pausedUntil - this.clock.now() }, 'bulk retry scheduled');
  }

  private async send(batch: Queued[]): Promise<void> {
    const t0 = performance.now();
    let outcomes;
    try {
      outcomes = await this.o.writer.write(batch);
    } catch (err) {
      if (err instanceof WriteUnavailable && (err.tooLarge || err.throttled)) this.o.sizer.shrink();
      else if (!(err instanceof WriteUnavailable)) this.o.log.error({ err }, 'bulk write failed unexpectedly');
      this.o.counters.bulk(false);
      this.setAvailable(false, (err as Error).message);
      this.retryLater(batch, (err as Error).message);
      return;
    }
    const ms = performance.now() - t0;
    this.o.counters.bulk(true, ms, batch.length);
    this.o.backoff.reset();
    this.setAvailable(true, '');
    const retry: Queued[] = [];
    const settled: Held[] = [];
    // Counted once per bulk: a metric call per document costs more than the bookkeeping itself.
    let created = 0;
    let duplicates = 0;
    outcomes.forEach((outcome, i) => {
      const q = batch[i]!;
      switch (outcome.kind) {
        case 'created':
          created++;
          break;
        case 'duplicate':
          duplicates++;
          break;
        case 'reject':
          this.o.counters.rejected('opensearch');
          q.owner.rejects.push({ kind: 'opensearch', reason: outcome.reason, raw: q.json, line: 0 });
          break;
        case 'retry':
          retry.push(q);
          return;
      }
      if (--q.owner.remaining === 0) settled.push(q.owner);
    });
    if (created > 0) this.o.counters.created(created);
    if (duplicates > 0) this.o.counters.duplicate(duplicates);
    if (retry.length > 0) {
      this.o.sizer.shrink();
      this.retryLater(retry, 'some documents were refused for now');
    } else {
      this.o.sizer.observe(ms, batch.length);
    }
    await Promise.all(settled.map((h) => this.finish(h)));
  }

  private async finish(h: Held): Promise<void> {
    if (h.rejects.length > 0) {
      try {
        await this.o.dlq(
          h.rejects.map((r) => ({ ...r, ...h.meta })),
          h.meta,
        );
        this.o.counters.dlq(h.rejects.length);
      } catch (err) {
        // Not acked: the message comes back, its documents become 409 duplicates and the
        // rejections are published again. Nothing is lost, and the DLQ dedupes by message id.
        this.o.log.error({ err, subject: h.meta.subject, seq: h.meta.seq }, 'dlq publish failed; message will be redelivered');
        h.handle.nak(this.o.backoff.next());
        this.held.delete(h);
        this.wake();
        return;
      }
    }
    h.handle.ack();
    this.o.counters.acked();
    this.held.delete(h);
    this.wake();
  }
}
