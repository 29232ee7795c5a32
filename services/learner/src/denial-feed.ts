// The denial feed: its own durable consumer on SLUICE_EVENTS' DENIED subjects (shared by every
// learner replica, so each denial is announced once), advice computed against the current policy,
// published on core NATS at sluice.denials.<node>.<project>.<agent> for agent harnesses. Core, not
// JetStream: a harness wants the denial now, and SLUICE_EVENTS already keeps it for `sluice why`.
// Kept apart from the learn-session consumer so a Redis outage (which naks those) never delays or
// repeats the feed. Acked after publishing; a redelivery may repeat a notice (event.id dedupes).
import type { NatsConnection } from '@nats-io/transport-node';
import type { ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import type { Logger, Metrics } from '@sluice/runtime';
import type { CurrentPolicyCache } from './current-policy.ts';
import { AdviceMemo } from './advice-memo.ts';
import { adviceLabel, denialNotices } from './denial-notices.ts';

export interface DenialFeedMetrics {
  published(advice: string, n?: number): void;
  dropped(reason: string, n?: number): void;
}

export function denialFeedMetrics(metrics: Metrics): DenialFeedMetrics {
  const published = metrics.meter.createCounter('sluice_learner_denials_published_total', {
    description: 'Denial notices published on sluice.denials.*, by advice (change, or the code of a denial no rule fixes)',
  });
  const dropped = metrics.meter.createCounter('sluice_learner_denials_dropped_total', {
    description: 'Denials not announced on sluice.denials.*, by reason (json, schema, publish_failed)',
  });
  return {
    published: (advice, n = 1) => published.add(n, { advice }),
    dropped: (reason, n = 1) => dropped.add(n, { reason }),
  };
}

export interface DenialFeedDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  policy: CurrentPolicyCache;
  metrics: DenialFeedMetrics;
  log: Logger;
}

/** Publish every notice of one message; returns how many went out. Never throws for one bad notice. */
export async function announce(payload: string | Uint8Array, d: Pick<DenialFeedDeps, 'nc' | 'policy' | 'metrics' | 'log'>, memo: AdviceMemo = new AdviceMemo()): Promise<number> {
  const batch = denialNotices(payload, await d.policy.get(), memo);
  for (const [reason, n] of batch.invalid) d.metrics.dropped(reason, n);
  // Counted per label once per message, not per notice: a storm is thousands of notices a second.
  const published = new Map<string, number>();
  for (const { subject, notice, payload } of batch.notices) {
    try {
      d.nc.publish(subject, payload);
      const label = adviceLabel(notice.advice);
      published.set(label, (published.get(label) ?? 0) + 1);
    } catch (err) {
      // Over max_payload (very long labels) or a closed connection: counted, the event itself is stored.
      d.metrics.dropped('publish_failed');
      d.log.warn({ err: (err as Error).message, subject: subject.slice(0, 200), id: notice.event.id }, 'could not publish a denial notice');
    }
  }
  let sent = 0;
  for (const [label, n] of published) {
    d.metrics.published(label, n);
    sent += n;
  }
  return sent;
}

export async function startDenialFeed(d: DenialFeedDeps, o: { stream: string; durable: string; batch: number }): Promise<() => Promise<void>> {
  const consumer = await d.js.consumers.get(o.stream, o.durable);
  const iter: ConsumerMessages = await consumer.consume({ max_messages: o.batch });
  const memo = new AdviceMemo();
  const loop = (async () => {
    for await (const m of iter) {
      try {
        await announce(m.data, d, memo);
        m.ack();
      } catch (err) {
        d.log.error({ err, subject: m.subject, seq: m.seq }, 'denial feed: message failed; will retry');
        m.nak(1000);
      }
    }
  })().catch((err: unknown) => d.log.error({ err }, 'denial feed loop ended with an error'));
  d.log.info({ stream: o.stream, durable: o.durable }, 'denial feed consuming');
  return async () => {
    await iter.close();
    await loop;
  };
}
