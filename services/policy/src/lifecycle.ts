// Container lifecycle from SLUICE_CONTROL (published by the attributor), replayed from the start
// of the stream so a restarted policy service (or a restarted feed, see watches.ts) rebuilds its
// container table. Ordered consumer: no server-side state is left behind. A malformed message is
// counted and skipped, never fatal.
import { DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ContainerLifecycle, STREAMS, subjects } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';

export async function openLifecycle(nc: NatsConnection): Promise<ConsumerMessages> {
  const consumer = await jetstream(nc).consumers.get(STREAMS.control.name, {
    filter_subjects: subjects.containersAll,
    deliver_policy: DeliverPolicy.All,
  });
  return consumer.consume();
}

/** The message as a lifecycle event, or undefined (counted through onBad) when it is not one. */
export function decodeLifecycle(m: Pick<JsMsg, 'json' | 'subject' | 'seq'>, log: Logger, onBad: (reason: string) => void): ContainerLifecycle | undefined {
  let json: unknown;
  try {
    json = m.json();
  } catch {
    onBad('not_json');
    log.warn({ subject: m.subject, seq: m.seq }, 'lifecycle message is not JSON; skipped');
    return undefined;
  }
  const r = ContainerLifecycle.safeParse(json);
  if (!r.success) {
    onBad('schema');
    log.warn({ subject: m.subject, seq: m.seq, issues: r.error.issues.slice(0, 3) }, 'lifecycle message fails the schema; skipped');
    return undefined;
  }
  return r.data;
}
