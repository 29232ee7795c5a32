// Consumer lag of the services that read a stream: messages not yet delivered (pending) plus
// delivered but not yet acknowledged. Durable names are the services' defaults.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAMS } from '@sluice/contracts';
import { cliNatsServers } from '../nats-servers.ts';

export const CONSUMERS: Record<string, Array<{ stream: string; durable: string }>> = {
  attributor: [{ stream: STREAMS.raw.name, durable: 'attributor' }],
  learner: [
    { stream: STREAMS.events.name, durable: 'sluice-learner' },
    { stream: STREAMS.events.name, durable: 'sluice-learner-denials' },
  ],
  sink: [
    { stream: STREAMS.events.name, durable: 'sink-egress' },
    { stream: STREAMS.events.name, durable: 'sink-dns' },
    { stream: STREAMS.control.name, durable: 'sink-overseer' },
  ],
};

/** service -> lag in messages; undefined where the consumer does not exist (yet). */
export async function consumerLag(natsUrl: string): Promise<Record<string, number | undefined>> {
  const nc = await connect({ servers: cliNatsServers(natsUrl), timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const lag: Record<string, number | undefined> = {};
    for (const [service, list] of Object.entries(CONSUMERS)) {
      let total: number | undefined;
      for (const c of list) {
        const info = await jsm.consumers.info(c.stream, c.durable).catch(() => undefined);
        if (info) total = (total ?? 0) + info.num_pending + info.num_ack_pending;
      }
      lag[service] = total;
    }
    return lag;
  } finally {
    await nc.close();
  }
}
