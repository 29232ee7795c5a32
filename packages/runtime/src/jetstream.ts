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
import { doing } from './doing.ts';

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
    const info = await doing(`info of stream ${spec.name}`, jsm.streams.info(spec.name));
    const drift = [
      ...compare(`stream ${spec.name}`, want as Record<string, unknown>, info.config as unknown as Record<string, unknown>),
      ...placementDrift(`stream ${spec.name}`, info.config.num_replicas, info.cluster),
    ];
    for (const d of drift) log.warn(d, 'jetstream config drift');
    return drift;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await doing(`creating stream ${spec.name}`, jsm.streams.add(want));
    log.info({ stream: spec.name, replicas: want.num_replicas }, 'created stream');
    return [];
  }
}

interface ClusterInfoLike {
  leader?: string;
  replicas?: Array<{ name: string; current: boolean; offline?: boolean }>;
}

/**
 * Where a clustered stream actually lives against what its config asks: a leader plus
 * num_replicas − 1 peers. A peer missing from the placement or offline is drift: the stream
 * runs with less redundancy than configured. A service never re-places a stream (a peer
 * removal moves data); it says so, and the operator (or the server, once the peer is back) fixes it.
 */
export function placementDrift(object: string, replicas: number, cluster: ClusterInfoLike | undefined): Drift[] {
  // A single server reports no cluster block (or one without peers): nothing to place.
  if (!cluster || replicas <= 1) return [];
  const peers = cluster.replicas ?? [];
  const drift: Drift[] = [];
  if (!cluster.leader) drift.push({ object, field: 'placement.leader', expected: 'a leader', actual: null });
  if (peers.length !== replicas - 1) drift.push({ object, field: 'placement.peers', expected: replicas - 1, actual: peers.length });
  const offline = peers.filter((p) => p.offline).map((p) => p.name);
  if (offline.length > 0) drift.push({ object, field: 'placement.offline', expected: [], actual: offline });
  return drift;
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
    const info = await doing(`info of consumer ${spec.stream}/${spec.durable}`, jsm.consumers.info(spec.stream, spec.durable));
    const drift = compare(
      `consumer ${spec.stream}/${spec.durable}`,
      want as Record<string, unknown>,
      info.config as unknown as Record<string, unknown>,
    );
    for (const d of drift) log.warn(d, 'jetstream config drift');
    return drift;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await doing(`creating consumer ${spec.stream}/${spec.durable}`, jsm.consumers.add(spec.stream, want));
    log.info({ stream: spec.stream, durable: spec.durable }, 'created consumer');
    return [];
  }
}

export interface KvResult {
  kv: KV;
  drift: Drift[];
}

/**
 * Open or create a bucket. nats.js' create() reuses an existing bucket's stream untouched, so a
 * bucket made with other replicas or history would go unnoticed: compare and report it as drift.
 */
export async function ensureKvChecked(
  nc: NatsConnection,
  bucket: string,
  history: number,
  replicas: number,
  log?: Logger,
): Promise<KvResult> {
  const kv = await new Kvm(nc).create(bucket, { history, replicas });
  const status = await kv.status();
  const object = `kv ${bucket}`;
  const drift: Drift[] = [];
  if (status.replicas !== replicas) drift.push({ object, field: 'num_replicas', expected: replicas, actual: status.replicas });
  if (status.history !== history) drift.push({ object, field: 'max_msgs_per_subject', expected: history, actual: status.history });
  drift.push(...placementDrift(object, status.replicas, status.streamInfo.cluster));
  for (const d of drift) log?.warn(d, 'jetstream config drift');
  return { kv, drift };
}

export async function ensureKv(nc: NatsConnection, bucket: string, history: number, replicas = 1, log?: Logger): Promise<KV> {
  return (await ensureKvChecked(nc, bucket, history, replicas, log)).kv;
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
