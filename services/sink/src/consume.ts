// One durable pull consumer per source, shared by every sink replica (JetStream hands each
// message to one of them). Messages are parsed here and handed to the pipeline, whose `add`
// blocks when the buffer is full, so pulling stops while the document store is away.
import type { JetStreamClient } from '@nats-io/jetstream';
import { STREAMS, type StreamSpec } from '@sluice/contracts';
import { ensureConsumer, jetstreamManager, retryTransient, SpanStatusCode, startMessageSpan, type Logger } from '@sluice/runtime';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Frame, parseBatch, parseOtlpBatch, type ParsedBatch } from '@sluice/store';
import type { BindingSource, Pipeline } from './pipeline.ts';

export interface SourceBinding {
  source: BindingSource;
  stream: StreamSpec;
  filter: string;
  durable: string;
}

export function bindings(consumerPrefix: string, filters: Partial<Record<BindingSource, string>> & Record<'egress' | 'dns' | 'overseer', string>): SourceBinding[] {
  const list: SourceBinding[] = [
    { source: 'egress', stream: STREAMS.events, filter: filters.egress, durable: `${consumerPrefix}-egress` },
    { source: 'dns', stream: STREAMS.events, filter: filters.dns, durable: `${consumerPrefix}-dns` },
    { source: 'overseer', stream: STREAMS.control, filter: filters.overseer, durable: `${consumerPrefix}-overseer` },
  ];
  if (filters.otel !== undefined) list.push({ source: 'otel', stream: STREAMS.otlp, filter: filters.otel, durable: `${consumerPrefix}-otel` });
  return list;
}

/**
 * A message's documents: the event sources by their schemas (encoded at once after the writer's
 * `frame`, so they lie in the buffer as a bulk body wants them), OTLP records each into its sender's stream.
 */
export function parserFor(
  otelStreams: Readonly<Record<string, string>>,
  frame?: Frame,
): (source: BindingSource, payload: Uint8Array, observed: string) => ParsedBatch {
  // Event batches are parsed from their bytes, line by line (parse.ts); OTLP records as one string.
  return (source, payload, observed) =>
    source === 'otel' ? parseOtlpBatch(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'), observed, otelStreams) : parseBatch(source, payload, observed, frame);
}

export interface ConsumeOptions {
  ackWaitMs: number;
  maxAckPending: number;
}

export async function ensureConsumers(nc: NatsConnection, list: SourceBinding[], o: ConsumeOptions, log: Logger): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const b of list) {
    // Waited out while a cluster re-elects after a fault, like the service's other ensures.
    await retryTransient(
      () =>
        ensureConsumer(
          jsm,
          { stream: b.stream.name, durable: b.durable, filterSubject: b.filter, ackWaitMs: o.ackWaitMs, maxAckPending: o.maxAckPending },
          log,
        ),
      { deadlineMs: 60_000, onRetry: (err, attempt, waitMs) => log.warn({ err: err.message, attempt, waitMs }, `consumer ${b.durable}: JetStream not answering yet; retrying`) },
    );
  }
}

/**
 * Start consuming every binding; returns a stop function that ends the pulls. `fetch` (not a
 * prefetching `consume`) so that every message handed to us is at once held by the pipeline and
 * kept alive: nothing waits unseen in a client buffer while its ack wait runs out.
 */
export async function startConsuming(
  js: JetStreamClient,
  list: SourceBinding[],
  pipeline: Pipeline,
  o: ConsumeOptions & { fetchMessages?: number; otelStreams?: Readonly<Record<string, string>> },
  log: Logger,
): Promise<() => Promise<void>> {
  let stopped = false;
  const loops: Promise<void>[] = [];
  const parse = parserFor(o.otelStreams ?? {}, pipeline.frame);
  for (const b of list) {
    const consumer = await js.consumers.get(b.stream.name, b.durable);
    const loop = (async () => {
      while (!stopped) {
        await pipeline.room();
        if (stopped) break;
        try {
          const batch = await consumer.fetch({ max_messages: pipeline.pullSize(b.source, Math.min(o.maxAckPending, o.fetchMessages ?? 16)), expires: 1000 });
          for await (const m of batch) {
            // One span per message, from pull to ack: the last hop of the batch's trace.
            const { span } = startMessageSpan('sluice.sink store', m.headers, { 'sluice.subject': m.subject, 'sluice.stream_seq': m.seq });
            const handle = {
              ack: () => {
                m.ack();
                span.end();
              },
              nak: (ms?: number) => {
                m.nak(ms);
                span.setStatus({ code: SpanStatusCode.ERROR, message: 'redelivery' });
                span.end();
              },
              working: () => m.working(),
            };
            pipeline.add(handle, { source: b.source, subject: m.subject, seq: m.seq }, parse(b.source, m.data, new Date().toISOString()));
            // Buffered messages resolve as microtasks: without this, parsing a whole fetch would
            // hold the event loop and stall bulk responses (and so acks) for its duration.
            await new Promise((r) => setImmediate(r));
          }
        } catch (err) {
          // NATS away or the consumer briefly missing: say so, wait, pull again.
          log.warn({ err, durable: b.durable }, 'fetch failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    loops.push(loop);
    log.info({ stream: b.stream.name, durable: b.durable, filter: b.filter }, 'consuming');
  }
  return async () => {
    stopped = true;
    await Promise.all(loops);
  };
}
