// The JetStream objects a service ensures at start, bound to the replicas its configuration asks
// for (STREAM_REPLICAS, KV_REPLICAS), with every drift found kept as a gauge: a stream running
// with fewer peers than configured, or created by another deployment with other settings, shows in
// Prometheus as well as in the log, instead of only in one start-up line nobody reads.
import type { Meter } from '@opentelemetry/api';
import type { KV } from '@nats-io/kv';
import type { StreamSpec } from '@sluice/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureConsumer, ensureKvChecked, ensureStream, jetstreamManager, type ConsumerSpec, type Drift } from './jetstream.ts';
import type { Logger } from './logger.ts';
import { retryTransient } from './retry-transient.ts';

export interface JetStreamEnsurer {
  stream(spec: StreamSpec): Promise<Drift[]>;
  kv(bucket: string, history: number): Promise<KV>;
  consumer(spec: ConsumerSpec): Promise<Drift[]>;
  /** Every drift seen by this process, keyed by object and field (the latest check wins). */
  readonly drift: ReadonlyMap<string, Drift>;
}

export function jetStreamEnsurer(
  nc: NatsConnection,
  o: { streamReplicas: number; kvReplicas: number; log: Logger; meter?: Meter; transientDeadlineMs?: number },
): JetStreamEnsurer {
  // Starting while a cluster re-elects (after a node was killed) is waited out, not fatal.
  const patiently = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    retryTransient(fn, {
      deadlineMs: o.transientDeadlineMs ?? 60_000,
      onRetry: (err, attempt, waitMs) => o.log.warn({ err: err.message, attempt, waitMs }, `${what}: JetStream not answering yet; retrying`),
    });
  const drift = new Map<string, Drift>();
  const record = (object: string, found: Drift[]): Drift[] => {
    for (const k of [...drift.keys()]) if (k.startsWith(`${object}\0`)) drift.delete(k);
    for (const d of found) drift.set(`${d.object}\0${d.field}`, d);
    return found;
  };
  o.meter
    ?.createObservableGauge('sluice_jetstream_drift', {
      description: 'JetStream objects whose config or placement differs from what this service expects (1 per object and field)',
    })
    .addCallback((obs) => {
      for (const d of drift.values()) obs.observe(1, { object: d.object, field: d.field });
    });
  return {
    drift,
    stream: async (spec) =>
      record(
        `stream ${spec.name}`,
        await patiently(`stream ${spec.name}`, async () => ensureStream(await jetstreamManager(nc), spec, o.log, { replicas: o.streamReplicas })),
      ),
    kv: async (bucket, history) => {
      const r = await patiently(`kv ${bucket}`, () => ensureKvChecked(nc, bucket, history, o.kvReplicas, o.log));
      record(`kv ${bucket}`, r.drift);
      return r.kv;
    },
    consumer: async (spec) =>
      record(
        `consumer ${spec.stream}/${spec.durable}`,
        await patiently(`consumer ${spec.stream}/${spec.durable}`, async () => ensureConsumer(await jetstreamManager(nc), spec, o.log)),
      ),
  };
}
