// After the command exits its last records are still on their way (ring buffer poll, reader and
// attributor batches). Wait until the attributor's durable has nothing pending and nothing in
// flight, then a short quiet period for the publish to reach subscribers.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { STREAMS } from '@sluice/contracts';

export async function drain(nc: NatsConnection, timeoutMs: number, durable = process.env.SLUICE_ATTRIBUTOR_DURABLE ?? 'attributor'): Promise<void> {
  // The reader polls the ring every 10 ms and cuts batches every 50 ms: let the tail reach NATS.
  await new Promise((r) => setTimeout(r, 300));
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await jsm.consumers.info(STREAMS.raw.name, durable);
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 200));
}
