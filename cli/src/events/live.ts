// Live events from SLUICE_EVENTS through an ordered (ephemeral) consumer: nothing is left behind
// on the server when the CLI exits. Batches are NDJSON; a line that fails the schema is reported
// on stderr and counted, never silently skipped.
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { EgressEvent, STREAMS } from '@sluice/contracts';
import { cliNatsServers } from '../nats-servers.ts';

export interface LiveOptions {
  natsUrl: string;
  subject: string;
  /** Start at this epoch ms; otherwise only new events. */
  since?: number;
  signal: AbortSignal;
  onEvent: (e: EgressEvent) => void;
  onBad: (why: string) => void;
}

export async function followLive(o: LiveOptions): Promise<void> {
  const nc = await connect({ servers: cliNatsServers(o.natsUrl), maxReconnectAttempts: -1 });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(STREAMS.events.name, {
      // A single string is sent as filter_subject, which nats-server 2.9 understands (the array form needs 2.10).
      filter_subjects: o.subject,
      ...(o.since !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.since).toISOString() }
        : { deliver_policy: DeliverPolicy.New }),
    });
    const messages = await consumer.consume();
    o.signal.addEventListener('abort', () => void messages.close(), { once: true });
    for await (const m of messages) {
      for (const line of m.string().split('\n')) {
        if (line.trim() === '') continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch (err) {
          o.onBad(`${m.subject}#${m.seq}: not JSON: ${(err as Error).message}`);
          continue;
        }
        const r = EgressEvent.safeParse(json);
        if (r.success) o.onEvent(r.data);
        else o.onBad(`${m.subject}#${m.seq}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
    }
  } finally {
    await nc.close();
  }
}
