// One batch → one SLUICE_RAW message (packages/contracts raw-batch format), acknowledged by
// JetStream. The Nats-Msg-Id makes a retry of a batch that did land a no-op.
import { headers } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { rawBatchHeaders, subjects } from '@sluice/contracts';
import { context, injectTrace, SpanKind, SpanStatusCode, trace, tracer } from '@sluice/runtime';
import type { Batch } from './batcher.ts';
import type { PublishResult } from './publisher.ts';

export function rawPublisher(js: JetStreamClient, node: string, bootId: string, timeoutMs: number): (b: Batch) => Promise<PublishResult> {
  const subject = subjects.raw(node);
  return async (b) => {
    const h = headers();
    for (const [k, v] of rawBatchHeaders({ node, bootId, firstSeq: b.firstSeq, count: b.count, wallOffsetNs: b.wallOffsetNs }, b.encoding)) h.set(k, v);
    // The root of the batch's trace: the attributor, sink and learner continue it from the headers.
    const span = tracer().startSpan('sluice.raw publish', { kind: SpanKind.PRODUCER, attributes: { 'sluice.node': node, 'sluice.records': b.count, 'sluice.first_seq': b.firstSeq } });
    injectTrace(h, trace.setSpan(context.active(), span));
    try {
      const ack = await js.publish(subject, b.body, { headers: h, timeout: timeoutMs });
      return { duplicate: ack.duplicate };
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  };
}
