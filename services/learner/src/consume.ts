// The learner's input: one durable pull consumer on SLUICE_EVENTS shared by every replica
// (JetStream gives each message to one of them). A message is acked only after every session it
// feeds has recorded it; on a Redis failure it is nak'ed and comes back, and the store's event-id
// dedupe makes the retry exact even if part of it had been applied.
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { SpanStatusCode, startMessageSpan, type Logger } from '@sluice/runtime';
import { parseBatch, routeOf } from './batch.ts';
import type { LearnerMetrics } from './metrics.ts';
import type { SessionCache } from './session-cache.ts';
import { sessionIdsForTokens } from './session.ts';
import type { LearnStore } from './store.ts';

export interface ConsumeOptions {
  stream: string;
  durable: string;
  /** Messages pulled ahead; bounded by the consumer's max_ack_pending anyway. */
  batch: number;
  /** Delay before a failed message is redelivered. */
  retryDelayMs: number;
}

export class BatchHandler {
  constructor(
    private readonly store: LearnStore,
    private readonly cache: SessionCache,
    private readonly metrics: LearnerMetrics,
  ) {}

  /** Record one message; throws when it must be retried (Redis unavailable). */
  async handle(subject: string, payload: string | Uint8Array): Promise<void> {
    const route = routeOf(subject);
    if (!route) {
      this.metrics.skipped('not_egress');
      return;
    }
    // Candidate sessions from the subject alone: most traffic is acked here, unparsed.
    const live = await this.cache.match(sessionIdsForTokens(route.projectToken, route.agentToken));
    if (live.length === 0) {
      this.metrics.skipped('no_session');
      return;
    }
    const parsed = parseBatch(payload, new Set(live));
    this.metrics.handled(parsed.events);
    for (const [reason, n] of parsed.invalid) this.metrics.dropped(reason, n);
    for (const [reason, n] of parsed.skipped) this.metrics.skipped(reason, n);
    for (const [sid, observations] of parsed.bySession) {
      const r = await this.store.apply(sid, observations);
      if (r.gone) {
        // Reset while in flight: what it would have learned is discarded on purpose.
        this.metrics.skipped('session_reset', observations.length);
        this.cache.invalidate();
        continue;
      }
      this.metrics.applied(r.applied);
      if (r.duplicates) this.metrics.skipped('duplicate', r.duplicates);
      if (r.before_start) this.metrics.skipped('before_start', r.before_start);
      if (r.overflow) this.metrics.dropped('cap', r.overflow);
    }
  }
}

/** Pull and handle until stopped; returns the stop function. */
export async function startConsuming(
  js: JetStreamClient,
  handler: BatchHandler,
  o: ConsumeOptions,
  log: Logger,
  onHealthy: (ok: boolean, detail: string) => void,
): Promise<() => Promise<void>> {
  const consumer = await js.consumers.get(o.stream, o.durable);
  const iter: ConsumerMessages = await consumer.consume({ max_messages: o.batch });
  const one = async (m: JsMsg) => {
    const { span } = startMessageSpan('sluice.learn record', m.headers, { 'sluice.subject': m.subject, 'sluice.stream_seq': m.seq });
    try {
      await handler.handle(m.subject, m.data);
      m.ack();
      onHealthy(true, 'consuming');
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      log.error({ err, subject: m.subject, seq: m.seq }, 'could not record batch; will retry');
      onHealthy(false, `redis: ${(err as Error).message}`);
      m.nak(o.retryDelayMs);
    } finally {
      span.end();
    }
  };
  const loop = (async () => {
    for await (const m of iter) await one(m);
  })().catch((err: unknown) => log.error({ err }, 'consume loop ended with an error'));
  log.info({ stream: o.stream, durable: o.durable }, 'consuming');
  return async () => {
    await iter.close();
    await loop;
  };
}
