// Idempotent "ensure" for streams, consumers and KV buckets. Creating is safe to repeat from every
// replica; an existing object whose config differs from what this code expects is *drift*: it is
// reported (returned and logged) rather than silently overwritten, because shrinking retention or
// changing subjects under a running cluster can lose data.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { StreamSpec } from '@sluice/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './logger.ts';

const NS_PER_S = 1_000_000_000;

export interface Drift {
  object: string;
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface StreamOptions {
  replicas?: number;
  storage?: 'file' | 'memory';
}

export function streamConfig(spec: StreamSpec, opts: StreamOptions = {}): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: spec.maxAgeSeconds * NS_PER_S,
    max_bytes: spec.maxBytes,
    duplicate_window: spec.duplicateWindowSeconds * NS_PER_S,
    num_replicas: opts.replicas ?? 1,
  };
}

function compare(object: string, expected: Record<string, unknown>, actual: Record<string, unknown>): Drift[] {
  const drift: Drift[] = [];
  for (const [field, want] of Object.entries(expected)) {
    if (want === undefined || field === 'name' || field === 'durable_name') continue;
    const have = actual[field];
    if (JSON.stringify(have) !== JSON.stringify(want)) drift.push({ object, field, expected: want, actual: have });
  }
  return drift;
}

export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  log: Logger,
  opts: StreamOptions = {},
): Promise<Drift[]> {
  const want = streamConfig(spec, opts);
  try {
    const info = await jsm.streams.info(spec.name);
    const drift = compare(`stream ${spec.name}`, want as Record<string, unknown>, info.config as unknown as Record<string, unknown>);
    for (const d of drift) log.warn(d, 'jetstream config drift');
    return drift;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(want);
    log.info({ stream: spec.name }, 'created stream');
    return [];
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  ackWaitMs?: number;
  maxAckPending?: number;
  maxDeliver?: number;
}

export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec, log: Logger): Promise<Drift[]> {
  const want: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: (spec.ackWaitMs ?? 30_000) * 1_000_000,
    max_ack_pending: spec.maxAckPending ?? 10_000,
    max_deliver: spec.maxDeliver ?? -1,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
  };
  try {
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    const drift = compare(
      `consumer ${spec.stream}/${spec.durable}`,
      want as Record<string, unknown>,
      info.config as unknown as Record<string, unknown>,
    );
    for (const d of drift) log.warn(d, 'jetstream config drift');
    return drift;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, want);
    log.info({ stream: spec.stream, durable: spec.durable }, 'created consumer');
    return [];
  }
}

export async function ensureKv(nc: NatsConnection, bucket: string, history: number, replicas = 1): Promise<KV> {
  const kvm = new Kvm(nc);
  return kvm.create(bucket, { history, replicas });
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 || // stream not found
    e?.api_error?.err_code === 10014 || // consumer not found
    e?.code === '404' ||
    /not found/i.test(e?.message ?? '')
  );
}

export { jetstreamManager };
