// Shared by the sink's integration tests and its benchmark: a private slice of the real servers
// (a unique index prefix, consumer prefix, project token and audit kind), a real sink child
// process bound to that slice, and clean-up that removes everything the slice created.
import { Client } from '@opensearch-project/opensearch';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { STREAMS, subjects, type AuditEvent, type DnsEvent, type EgressEvent } from '@sluice/contracts';
import { createLogger, ensureStream, natsServers } from '@sluice/runtime';
import { CLAUDE_STREAM, dataStreamName, DLQ_SUBJECT, openSearchClient, OTEL_FAMILIES, OTEL_STREAM_PREFIX, SOURCES, templateName, type DlqRecord } from '@sluice/store';
import { ndjson } from './events.ts';
import { testServer } from './servers.ts';
import { startService, waitReady, type ServiceProcess } from './service-process.ts';
import { waitFor } from './wait-for.ts';

export interface Slice {
  tag: string;
  prefix: string;
  consumerPrefix: string;
  project: string;
  auditKind: string;
  /** The node token of the slice's OTLP subject (sluice.otlp.logs.<node>): an otlp-receiver for the slice runs under it. */
  otlpNode: string;
  natsUrl: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  os: Client;
  opensearchUrl: string;
}

/**
 * `opensearchUrl`: a private node (fault tests that restart OpenSearch) or a cluster's hosts;
 * default the test run's. `cluster`: a NATS seed list and the replicas its streams are made with.
 */
export async function openSlice(
  name: string,
  opensearchUrl = testServer('OPENSEARCH_URL'),
  cluster: { natsUrl: string; replicas: number } = { natsUrl: testServer('NATS_URL'), replicas: 1 },
): Promise<Slice> {
  const letters = Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
  const tag = `${name}${letters}`;
  const natsUrl = cluster.natsUrl;
  const nc = await connect({ servers: natsServers(natsUrl) });
  const jsm = await jetstreamManager(nc);
  const log = createLogger('sink-test', 'silent');
  try {
    await ensureStream(jsm, STREAMS.events, log, { replicas: cluster.replicas });
    await ensureStream(jsm, STREAMS.control, log, { replicas: cluster.replicas });
    await ensureStream(jsm, STREAMS.otlp, log, { replicas: cluster.replicas });
  } catch (err) {
    // An open connection would keep a bench process alive after it reported the failure.
    await nc.close();
    throw err;
  }
  return {
    tag,
    prefix: `${tag}-`,
    consumerPrefix: `sink-${tag}`,
    project: `proj-${tag}`,
    auditKind: `${name.replace(/[^a-z]/g, '')}_${letters}`,
    otlpNode: `otlp-${tag}`,
    natsUrl,
    nc,
    js: jetstream(nc),
    jsm,
    os: openSearchClient({ url: opensearchUrl }),
    opensearchUrl,
  };
}

/** Environment for a sink bound to the slice. */
export function sliceEnv(s: Slice, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: s.natsUrl,
    OPENSEARCH_URL: s.opensearchUrl,
    METRICS_PORT: String(port),
    NODE_NAME: `sink-${s.tag}`,
    LOG_LEVEL: 'info',
    SINK_INDEX_PREFIX: s.prefix,
    SINK_CONSUMER_PREFIX: s.consumerPrefix,
    SINK_EGRESS_FILTER: `sluice.events.${s.project}.>`,
    SINK_DNS_FILTER: `sluice.dns.${s.project}.>`,
    SINK_AUDIT_FILTER: subjects.audit(s.auditKind),
    SINK_OTLP_FILTER: subjects.otlpLogs(s.otlpNode),
    SINK_ACK_WAIT_MS: '4000',
    SINK_LIFECYCLE_INTERVAL: '1h',
    ...extra,
  };
}

export async function startSink(s: Slice, port: number, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = startService('sink', sliceEnv(s, port, extra));
  await waitReady(p, port, 'sink', 90_000);
  return p;
}

/** Publish events as NDJSON batches of `perMessage`, acknowledged by JetStream. */
export async function publishEgress(s: Slice, events: EgressEvent[], perMessage: number): Promise<void> {
  const groups = new Map<string, EgressEvent[]>();
  for (const e of events) {
    const subject = subjects.events(s.project, e.agent ?? '', e.verdict);
    groups.set(subject, [...(groups.get(subject) ?? []), e]);
  }
  for (const [subject, list] of groups) {
    for (let i = 0; i < list.length; i += perMessage) await s.js.publish(subject, ndjson(list.slice(i, i + perMessage)));
  }
}

export async function publishRaw(s: Slice, subject: string, payload: string): Promise<void> {
  await s.js.publish(subject, payload);
}

export async function publishDns(s: Slice, events: DnsEvent[]): Promise<void> {
  await s.js.publish(subjects.dns(s.project, 'agent-0'), ndjson(events));
}

export async function publishAudit(s: Slice, events: AuditEvent[]): Promise<void> {
  await s.js.publish(subjects.audit(s.auditKind), ndjson(events));
}

export async function searchableCount(s: Slice, source: (typeof SOURCES)[number] | (string & {}), query?: object): Promise<number> {
  const index = dataStreamName(s.prefix, source);
  await s.os.indices.refresh({ index });
  const r = await s.os.count({ index, body: query ? { query } : {} } as never);
  return (r.body as { count: number }).count;
}

export async function waitForCount(s: Slice, source: (typeof SOURCES)[number] | (string & {}), n: number, timeoutMs = 120_000): Promise<number> {
  return waitFor(
    `${n} ${source} documents`,
    async () => {
      const c = await searchableCount(s, source);
      return c >= n ? c : undefined;
    },
    timeoutMs,
  );
}

/** DLQ records for this slice (read from SLUICE_CONTROL with a throw-away consumer; NATS 2.9 has no multi-filter). */
export async function dlqRecords(s: Slice): Promise<DlqRecord[]> {
  const info = await s.jsm.streams.info(STREAMS.control.name, { subjects_filter: DLQ_SUBJECT });
  const total = info.state.subjects?.[DLQ_SUBJECT] ?? 0;
  const out: DlqRecord[] = [];
  if (total === 0) return out;
  const name = `dlqread-${s.tag}-${Date.now()}`;
  await s.jsm.consumers.add(STREAMS.control.name, {
    name,
    filter_subject: DLQ_SUBJECT,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 30_000_000_000,
  });
  try {
    const c = await s.js.consumers.get(STREAMS.control.name, name);
    let seen = 0;
    while (seen < total) {
      let got = 0;
      for await (const m of await c.fetch({ max_messages: 500, expires: 2000 })) {
        got++;
        for (const line of m.string().split('\n')) {
          const r = JSON.parse(line) as DlqRecord;
          if (r.subject.includes(s.project) || r.subject.endsWith(s.auditKind)) out.push(r);
        }
      }
      if (got === 0) break;
      seen += got;
    }
  } finally {
    await s.jsm.consumers.delete(STREAMS.control.name, name);
  }
  return out;
}

export async function closeSlice(s: Slice): Promise<void> {
  for (const src of SOURCES) {
    await s.os.indices.deleteDataStream({ name: dataStreamName(s.prefix, src) }).catch(() => {});
    await s.os.indices.deleteIndexTemplate({ name: templateName(s.prefix, src) }).catch(() => {});
  }
  await s.os.indices.deleteDataStream({ name: `${s.prefix}${CLAUDE_STREAM}` }).catch(() => {});
  await s.os.indices.deleteDataStream({ name: `${s.prefix}${OTEL_STREAM_PREFIX}*` }).catch(() => {});
  for (const f of OTEL_FAMILIES) await s.os.indices.deleteIndexTemplate({ name: templateName(s.prefix, f) }).catch(() => {});
  await s.jsm.consumers.delete(STREAMS.otlp.name, `${s.consumerPrefix}-otel`).catch(() => {});
  await s.jsm.streams.purge(STREAMS.otlp.name, { filter: subjects.otlpLogs(s.otlpNode) }).catch(() => {});
  for (const src of SOURCES) {
    const stream = src === 'overseer' ? STREAMS.control.name : STREAMS.events.name;
    await s.jsm.consumers.delete(stream, `${s.consumerPrefix}-${src}`).catch(() => {});
  }
  await s.jsm.streams.purge(STREAMS.events.name, { filter: `sluice.events.${s.project}.>` }).catch(() => {});
  await s.jsm.streams.purge(STREAMS.events.name, { filter: `sluice.dns.${s.project}.>` }).catch(() => {});
  await s.jsm.streams.purge(STREAMS.control.name, { filter: subjects.audit(s.auditKind) }).catch(() => {});
  await s.os.close();
  await s.nc.close();
}
