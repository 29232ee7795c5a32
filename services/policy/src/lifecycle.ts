// Container lifecycle from SLUICE_CONTROL (published by the attributor), replayed from the start
// of the stream so a restarted policy service rebuilds its container table. Ordered consumer: no
// server-side state is left behind. A malformed message is counted and skipped, never fatal.
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ContainerLifecycle, STREAMS, subjects } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';

export interface LifecycleFeed {
  stop(): Promise<void>;
}

export async function followLifecycle(
  nc: NatsConnection,
  log: Logger,
  onMessage: (m: ContainerLifecycle) => void,
  onBad: (reason: string) => void,
): Promise<LifecycleFeed> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(STREAMS.control.name, {
    filter_subjects: subjects.containersAll,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      let json: unknown;
      try {
        json = m.json();
      } catch {
        onBad('not_json');
        log.warn({ subject: m.subject, seq: m.seq }, 'lifecycle message is not JSON; skipped');
        continue;
      }
      const r = ContainerLifecycle.safeParse(json);
      if (!r.success) {
        onBad('schema');
        log.warn({ subject: m.subject, seq: m.seq, issues: r.error.issues.slice(0, 3) }, 'lifecycle message fails the schema; skipped');
        continue;
      }
      onMessage(r.data);
    }
  })().catch((err: unknown) => log.error({ err }, 'lifecycle feed stopped'));
  return {
    stop: async () => {
      await messages.close();
      await done;
    },
  };
}
