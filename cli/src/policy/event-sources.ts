// Stored egress events for `sluice policy test`, from the NDJSON store (the embedded default),
// from JetStream (SLUICE_EVENTS, by time) or from OpenSearch (clawker-egress), and the DNS events
// that say which resolver answered each name (NDJSON and JetStream). Every source yields
// schema-valid events and reports each line it could not read, so a replay never silently covers
// less traffic than it says.
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { DnsEvent, EgressEvent, encodeToken, STREAMS, subjects, type Verdict } from '@sluice/contracts';
import { openSearchClient, readNdjsonStore } from '@sluice/store';
import { cliNatsServers } from '../nats-servers.ts';

export interface EventQuery {
  /** Epoch ms, inclusive; undefined: from the oldest stored event. */
  from?: number;
  /** Epoch ms, inclusive; undefined: up to the newest. */
  to?: number;
  project?: string;
  agent?: string;
  /** Only this verdict (`sluice why` reads DENIED only). */
  verdict?: Verdict;
}

export type OnBad = (where: string, why: string) => void;

const inWindow = (q: EventQuery, time: string) => {
  const t = Date.parse(time);
  return (q.from === undefined || t >= q.from) && (q.to === undefined || t <= q.to);
};
const selected = (q: EventQuery, e: EgressEvent) =>
  (q.project === undefined || e.project === q.project) &&
  (q.agent === undefined || e.agent === q.agent) &&
  (q.verdict === undefined || e.verdict === q.verdict) &&
  inWindow(q, e.time);

function checkAs<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }) {
  return (json: unknown, where: string, onBad: OnBad): T | undefined => {
    const r = schema.safeParse(json);
    if (r.success) return r.data;
    onBad(where, r.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; '));
    return undefined;
  };
}
const check = checkAs<EgressEvent>(EgressEvent);
const checkDns = checkAs<DnsEvent>(DnsEvent);

/** How far before the window DNS answers are read: a name resolved earlier may still be cached. */
export const DNS_LOOKBACK_MS = 24 * 3600 * 1000;

const sameWorkload = (q: EventQuery, e: { project?: string | undefined; agent?: string | undefined }) =>
  (q.project === undefined || e.project === q.project) && (q.agent === undefined || e.agent === q.agent);

export async function* ndjsonDns(dir: string, q: EventQuery, onBad: OnBad): AsyncGenerator<DnsEvent> {
  const filter = {
    sources: ['dns' as const],
    ...(q.from !== undefined ? { since: new Date(q.from - DNS_LOOKBACK_MS) } : {}),
    ...(q.to !== undefined ? { until: new Date(q.to) } : {}),
  };
  for await (const doc of readNdjsonStore(dir, filter, (file, line, err) => onBad(`${file}:${line}`, err.message))) {
    const e = checkDns(doc.attributes, `${dir} dns event ${String(doc.attributes?.id ?? '?')}`, onBad);
    if (e && sameWorkload(q, e)) yield e;
  }
}

export async function* ndjsonEvents(dir: string, q: EventQuery, onBad: OnBad): AsyncGenerator<EgressEvent> {
  const filter = {
    sources: ['egress' as const],
    ...(q.from !== undefined ? { since: new Date(q.from) } : {}),
    ...(q.to !== undefined ? { until: new Date(q.to) } : {}),
    ...(q.project !== undefined ? { project: q.project } : {}),
    ...(q.agent !== undefined ? { agent: q.agent } : {}),
    ...(q.verdict !== undefined ? { verdict: q.verdict } : {}),
  };
  for await (const doc of readNdjsonStore(dir, filter, (file, line, err) => onBad(`${file}:${line}`, err.message))) {
    const e = check(doc.attributes, `${dir} event ${String(doc.attributes?.id ?? '?')}`, onBad);
    if (e && selected(q, e)) yield e;
  }
}

export interface JetStreamSource {
  servers: string;
  user?: string | undefined;
  pass?: string | undefined;
}

/**
 * SLUICE_EVENTS messages on `subject` from `from` (or the first message) through an ordered
 * consumer, which leaves nothing behind on the server, up to the last message stored when the read
 * began. Yields each NDJSON line's JSON.
 */
async function* jetstreamLines(src: JetStreamSource, subject: string, from: number | undefined, to: number | undefined, onBad: OnBad): AsyncGenerator<[unknown, string]> {
  const nc = await connect({ servers: cliNatsServers(src.servers), timeout: 3000, maxReconnectAttempts: 0, name: 'sluice-policy-test', ...(src.user ? { user: src.user, pass: src.pass ?? '' } : {}) });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(STREAMS.events.name, {
      filter_subjects: subject,
      ...(from !== undefined ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from).toISOString() } : { deliver_policy: DeliverPolicy.All }),
    });
    if ((await consumer.info()).num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const m of messages) {
        // Stored well after the window: everything after it is later still.
        const stored = Number(BigInt(m.info.timestampNanos) / 1_000_000n);
        if (to !== undefined && stored > to + 60_000) break;
        for (const line of m.string().split('\n')) {
          if (line.trim() === '') continue;
          try {
            yield [JSON.parse(line), `${m.subject}#${m.seq}`];
          } catch (err) {
            onBad(`${m.subject}#${m.seq}`, `not JSON: ${(err as Error).message}`);
          }
        }
        if (m.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
  } finally {
    await nc.close();
  }
}

export async function* jetstreamEvents(src: JetStreamSource, q: EventQuery, onBad: OnBad): AsyncGenerator<EgressEvent> {
  const subject = subjects.eventsFilter({
    ...(q.project !== undefined ? { project: q.project } : {}),
    ...(q.agent !== undefined ? { agent: q.agent } : {}),
    ...(q.verdict !== undefined ? { verdict: q.verdict } : {}),
  });
  for await (const [json, where] of jetstreamLines(src, subject, q.from, q.to, onBad)) {
    const e = check(json, where, onBad);
    if (e && selected(q, e)) yield e;
  }
}

export async function* jetstreamDns(src: JetStreamSource, q: EventQuery, onBad: OnBad): AsyncGenerator<DnsEvent> {
  const subject = `sluice.dns.${q.project === undefined ? '*' : encodeToken(q.project)}.${q.agent === undefined ? '*' : encodeToken(q.agent)}`;
  for await (const [json, where] of jetstreamLines(src, subject, q.from === undefined ? undefined : q.from - DNS_LOOKBACK_MS, q.to, onBad)) {
    const e = checkDns(json, where, onBad);
    if (e && sameWorkload(q, e) && (q.to === undefined || Date.parse(e.time) <= q.to)) yield e;
  }
}

export interface OpenSearchSource {
  node: string;
  /** Data stream or index pattern, default clawker-egress. */
  index: string;
}

/** clawker-egress documents in time order, paged with search_after. */
export async function* opensearchEvents(src: OpenSearchSource, q: EventQuery, onBad: OnBad): AsyncGenerator<EgressEvent> {
  const client = openSearchClient({ url: src.node, username: process.env.OPENSEARCH_USERNAME, password: process.env.OPENSEARCH_PASSWORD });
  const must: object[] = [];
  if (q.from !== undefined || q.to !== undefined) {
    must.push({ range: { '@timestamp': { ...(q.from !== undefined ? { gte: new Date(q.from).toISOString() } : {}), ...(q.to !== undefined ? { lte: new Date(q.to).toISOString() } : {}) } } });
  }
  if (q.project !== undefined) must.push({ term: { 'attributes.project': q.project } });
  if (q.agent !== undefined) must.push({ term: { 'attributes.agent': q.agent } });
  let after: unknown[] | undefined;
  try {
    for (;;) {
      const res = await client.search({
        index: src.index,
        body: {
          size: 1000,
          query: { bool: { must } },
          sort: [{ '@timestamp': 'asc' }, { 'attributes.id': 'asc' }],
          ...(after ? { search_after: after } : {}),
        },
      } as never);
      const hits = (res.body as { hits: { hits: Array<{ _id: string; _source: { attributes?: unknown }; sort: unknown[] }> } }).hits.hits;
      for (const h of hits) {
        const e = check(h._source.attributes, `${src.index}/${h._id}`, onBad);
        if (e && selected(q, e)) yield e;
      }
      if (hits.length < 1000) return;
      after = hits[hits.length - 1]!.sort;
    }
  } finally {
    await client.close();
  }
}
