// A bounded queue in front of JetStream. Batches wait here (and are retried, with the same
// Nats-Msg-Id so JetStream drops a repeat) while NATS is slow or away. The bound is in records;
// a batch that does not fit is dropped and counted (reason=publish) rather than slowing the
// ring-buffer drain: when the reader cannot keep up, the loss must be counted, never hidden in a
// stalled pipe. For the same reason a batch the server refuses for good (refusal.ts) is dropped and
// counted at once instead of retried in front of every later one.
import { type TimerHandle, type Timers, realTimers } from '@sluice/runtime';
import type { Batch } from './batcher.ts';

export interface PublishResult {
  /** JetStream already had this message id: an earlier attempt landed. */
  duplicate: boolean;
}

export interface PublisherOptions {
  maxQueuedRecords: number;
  maxInflight: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export interface PublisherEvents {
  published(records: number, duplicate: boolean): void;
  dropped(records: number): void;
  failed(err: unknown, attempt: number): void;
  /** The batch was refused for good (refusal.ts): dropped and counted at once, never retried. */
  refused?(err: unknown, records: number): void;
  /** The batch left the publisher: acknowledged by JetStream, or counted as dropped. */
  settled?(b: Batch): void;
}

export class BatchPublisher {
  private readonly queue: Batch[] = [];
  private queued = 0; // records in the queue or in flight
  private inflight = 0;
  private retryMs: number;
  private pausedUntil = 0;
  private wake: TimerHandle | undefined;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private keptElsewhere = false;

  constructor(
    private readonly opts: PublisherOptions,
    private readonly publish: (b: Batch) => Promise<PublishResult>,
    private readonly events: PublisherEvents,
    /** Retry backoff and the idle timeout; the real clock unless a test drives its own. */
    private readonly clock: Timers = realTimers,
    /** An error no retry can cure (refusal.ts): the batch is dropped and counted instead of retried forever. */
    private readonly permanent: (err: unknown) => boolean = () => false,
  ) {
    this.retryMs = opts.retryMinMs;
  }

  /** Queue a batch; false (and counted as dropped) if it does not fit the bound. */
  offer(b: Batch): boolean {
    if (this.closed || this.queued + b.count > this.opts.maxQueuedRecords) {
      this.events.dropped(b.count);
      this.events.settled?.(b);
      return false;
    }
    this.queue.push(b);
    this.queued += b.count;
    this.pump();
    return true;
  }

  get queuedRecords(): number {
    return this.queued;
  }

  /** Resolves when nothing is queued or in flight, or after `timeoutMs`; returns records left. */
  async idle(timeoutMs: number): Promise<number> {
    if (this.queued === 0) return 0;
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        this.clock.clearTimeout(t);
        resolve();
      });
    });
    return this.queued;
  }

  /**
   * Stop accepting; what is still queued is counted as dropped, unless `keptElsewhere`: the
   * records are still in the kernel ring (never acknowledged to the helper), and the next reader
   * sends them again.
   */
  close(keptElsewhere = false): number {
    this.closed = true;
    this.keptElsewhere = keptElsewhere;
    if (this.wake !== undefined) this.clock.clearTimeout(this.wake);
    const left = this.queue.reduce((n, b) => n + b.count, 0);
    this.queue.length = 0;
    if (left > 0 && !keptElsewhere) this.events.dropped(left);
    this.queued -= left;
    return left;
  }

  private pump(): void {
    const now = this.clock.now();
    if (now < this.pausedUntil) {
      this.wake ??= this.clock.setTimeout(() => {
        this.wake = undefined;
        this.pump();
      }, this.pausedUntil - now);
      return;
    }
    while (this.inflight < this.opts.maxInflight && this.queue.length > 0 && !this.closed) {
      const b = this.queue.shift()!;
      this.inflight++;
      this.send(b, 1);
    }
  }

  private send(b: Batch, attempt: number): void {
    this.publish(b).then(
      (res) => {
        this.inflight--;
        this.queued -= b.count;
        this.retryMs = this.opts.retryMinMs;
        this.events.published(b.count, res.duplicate);
        this.events.settled?.(b);
        if (this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.pump();
      },
      (err: unknown) => {
        this.inflight--;
        this.events.failed(err, attempt);
        if (this.closed) {
          this.queued -= b.count;
          if (!this.keptElsewhere) this.events.dropped(b.count);
          this.events.settled?.(b);
          return;
        }
        if (this.permanent(err)) {
          // Retrying a refusal that cannot change would hold every later batch behind it forever.
          this.queued -= b.count;
          this.events.refused?.(err, b.count);
          this.events.dropped(b.count);
          this.events.settled?.(b);
          if (this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
          this.pump();
          return;
        }
        // Back to the front: it keeps its place and its message id.
        this.queue.unshift(b);
        this.pausedUntil = this.clock.now() + this.retryMs;
        this.retryMs = Math.min(this.opts.retryMaxMs, this.retryMs * 2);
        this.pump();
      },
    );
  }
}
