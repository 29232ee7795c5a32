// One batch → one SLUICE_RAW message (packages/contracts raw-batch format), acknowledged by
// JetStream. The Nats-Msg-Id makes a retry of a batch that did land a no-op.
import { headers } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { rawBatchHeaders, subjects } from '@sluice/contracts';
import type { Batch } from './batcher.ts';
import type { PublishResult } from './publisher.ts';

export function rawPublisher(js: JetStreamClient, node: string, bootId: string, timeoutMs: number): (b: Batch) => Promise<PublishResult> {
  const subject = subjects.raw(node);
  return async (b) => {
    const h = headers();
    for (const [k, v] of rawBatchHeaders({ node, bootId, firstSeq: b.firstSeq, count: b.count, wallOffsetNs: b.wallOffsetNs })) h.set(k, v);
    const ack = await js.publish(subject, b.body, { headers: h, timeout: timeoutMs });
    return { duplicate: ack.duplicate };
  };
}
