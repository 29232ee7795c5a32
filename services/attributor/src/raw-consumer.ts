// SLUICE_RAW → SLUICE_EVENTS. One durable pull consumer that every replica shares (JetStream
// hands each raw batch to one of them). A raw batch is acknowledged only after every message it
// produced was acknowledged by SLUICE_EVENTS; if the process dies in between, the batch is
// redelivered, re-rendered with the same Nats-Msg-Ids, and JetStream's duplicate window drops
// what was already stored. A malformed batch can never succeed: it is terminated and counted.
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { HEADERS, parseRawBatch, RawBatchError, STREAMS } from '@sluice/contracts';
import { BufferPool, ensureConsumer, headerLines, injectTrace, JetStreamBatchPublisher, jetstreamManager, SpanStatusCode, startMessageSpan, type Logger } from '@sluice/runtime';
import type { DnsNameStore } from './dns-name-store.ts';
import type { DnsNames } from './dns-names.ts';
import { attributeBatch } from './batch-pipeline.ts';
import type { Lookup } from './decode.ts';
import type { AttributorMetrics } from './metrics.ts';
import type { RecordCodec } from './record.ts';
import type { MissResolver } from './resolver.ts';

export interface RawConsumerOptions {
  durable: string;
  filter: string;
  ackWaitMs: number;
  concurrency: number;
  maxMessageBytes: number;
}

export interface RawConsumerDeps {
  nc: NatsConnection;
  codec: RecordCodec;
  lookup: Lookup;
  resolver: MissResolver;
  /** domain_hash → name (dst_host), and its Redis share across replicas (absent: this replica's only). */
  names: DnsNames;
  nameStore?: DnsNameStore;
  log: Logger;
  metrics: AttributorMetrics;
  /** Render's buffers, reused from batch to batch (absent: a new one each batch). */
  buffers?: BufferPool;
  /** The label cache's version (batch-pipeline.ts PipelineDeps.lookupVersion). */
  lookupVersion?: () => number;
}

export async function ensureRawConsumer(nc: NatsConnection, o: RawConsumerOptions, log: Logger): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureConsumer(
    jsm,
    {
      stream: STREAMS.raw.name,
      durable: o.durable,
      filterSubject: o.filter,
      ackWaitMs: o.ackWaitMs,
      maxAckPending: o.concurrency * 4,
    },
    log,
  );
}

/** One raw message: its batch through the pipeline (batch-pipeline.ts), published, then acked. Resolves once acked, nak'ed or terminated. */
export async function handleRaw(m: JsMsg, pub: JetStreamBatchPublisher, d: RawConsumerDeps, o: RawConsumerOptions): Promise<void> {
  // The batch's trace (started by the reader) continues here and into every message it produces.
  const { span, ctx } = startMessageSpan('sluice.attribute batch', m.headers, { 'sluice.subject': m.subject, 'sluice.stream_seq': m.seq });
  try {
    await handleRawTraced(m, pub, d, o, (h) => injectTrace(h, ctx));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

async function handleRawTraced(m: JsMsg, pub: JetStreamBatchPublisher, d: RawConsumerDeps, o: RawConsumerOptions, trace: (h: ReturnType<typeof natsHeaders>) => void): Promise<void> {
  let meta;
  let records;
  try {
    // Packed bodies (what readers write) come back zero-extended to the fixed stride the codec reads.
    // Unpacked into a pooled buffer: a new 1 MB one a batch was external memory V8 scavenged early on.
    ({ meta, records } = parseRawBatch((name) => m.headers?.get(name), m.data, d.codec.size, d.buffers && ((n) => d.buffers!.take(n))));
  } catch (err) {
    if (!(err instanceof RawBatchError)) throw err;
    const count = Number(m.headers?.get(HEADERS.count)) || 1;
    d.metrics.stage.dropped('bad_batch', count);
    d.log.warn({ err: err.message, subject: m.subject, seq: m.seq }, 'raw batch rejected');
    m.term(err.message);
    return;
  }
  const { batch, learned, rendered: out } = await attributeBatch(meta, records, { ...d, maxMessageBytes: o.maxMessageBytes, buffers: d.buffers });
  // Rendered: nothing reads the records any more (a fixed body is the message's own bytes, which the pool refuses).
  d.buffers?.give(records);
  for (const [reason, n] of batch.errors) d.metrics.stage.dropped(reason, n);
  d.metrics.dnsNames('learned', learned.names.filter((l) => l.fresh).length);
  d.metrics.dnsNames('rejected', learned.rejected);
  d.metrics.dnsNames('named', out.hosts.named);
  d.metrics.dnsNames('unnamed', out.hosts.unnamed);
  // Every message of the batch carries the same content type, node and trace context: their
  // header lines are encoded once; each message adds its count and id (batch-publisher.ts).
  const traceHeaders = natsHeaders();
  trace(traceHeaders);
  const shared = headerLines([
    [HEADERS.contentType, 'application/x-ndjson'],
    [HEADERS.node, meta.node],
    ...traceHeaders.keys().map((k) => [k, traceHeaders.get(k)] as const),
  ]);
  try {
    const published = pub.publish(
      out.messages.map((msg) => ({ subject: msg.subject, data: msg.data, msgId: msg.msgId, headers: `${HEADERS.count}: ${msg.count}\r\n` })),
      shared,
    );
    // The publisher copied every message into its frames: the lines' buffer serves the next batch.
    if (pub.copiesOnPublish) d.buffers?.give(out.buffer);
    await published;
  } catch (err) {
    // Not a loss: the batch comes back (nak), and what did get stored dedupes on its ids.
    d.metrics.retried('publish_failed');
    d.log.warn({ err: (err as Error).message, batch: m.headers?.get(HEADERS.msgId) }, 'publishing events failed; batch will be redelivered');
    m.nak(1000);
    return;
  }
  m.ack();
  d.metrics.published(out.messages.length);
  d.metrics.stage.handled(meta.count - sum(batch.errors));
  for (const [a, n] of Object.entries(out.attributed)) d.metrics.attributed(a, n);
}

function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Pull and handle raw batches, up to `concurrency` at once. Returns a stop function. */
export async function startRawConsumer(deps: RawConsumerDeps, o: RawConsumerOptions): Promise<() => Promise<void>> {
  const d: RawConsumerDeps = { ...deps, buffers: deps.buffers ?? new BufferPool() };
  const js = jetstream(d.nc);
  const pub = new JetStreamBatchPublisher(d.nc, { stream: STREAMS.events.name });
  const consumer = await js.consumers.get(STREAMS.raw.name, o.durable);
  const iter: ConsumerMessages = await consumer.consume({ max_messages: o.concurrency * 2 });
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const m of iter) {
      const p = handleRaw(m, pub, d, o)
        .catch((err: unknown) => {
          // One bad batch must not stop the service: count it and let it be redelivered.
          d.metrics.retried('handler_error');
          d.log.error({ err, seq: m.seq }, 'raw batch handling failed; will be redelivered');
          m.nak(1000);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= o.concurrency) await Promise.race(inflight);
    }
  })().catch((err: unknown) => d.log.error({ err }, 'raw consume loop ended with an error'));
  d.log.info({ durable: o.durable, filter: o.filter }, 'consuming raw batches');
  return async () => {
    await iter.close();
    await loop;
    await Promise.allSettled([...inflight]);
    pub.close();
  };
}
