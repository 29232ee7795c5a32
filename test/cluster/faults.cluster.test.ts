// The cluster tier: two nodes on this machine (each its own node name, pin dir, managed scope,
// bpf-reader and policy service) on a 3-node JetStream cluster (every stream and KV bucket R3) and a
// 2-node OpenSearch cluster; the attributor, learner and sink run as two replicas each on their
// shared durable consumers. Under steady load from both nodes (denied UDP sends from a cgroup of
// each scope, one kernel record per syscall), the faults come one after the other:
//   1. kill -9 the NATS server leading SLUICE_EVENTS, then restart it;
//   2. stop OpenSearch node c2 (the data-only node: scripts/servers/opensearch-cluster.sh), then restart it;
//   3. kill -9 one replica of the attributor, the learner and the sink, then restart them.
// Throughout, each node's kernel verdicts are sampled (a registered agent's allowed connect and
// an unregistered cgroup's denied one, every 250 ms). At the end, per node: records generated =
// documents indexed + drops counted by reason, no document twice, every sample right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { apiSubject, IDENTITY_API, KV_BUCKETS, POLICY_API, STREAMS, type ApiReply } from '@sluice/contracts';
import { createLogger, ensureStream, metricValue, natsServers } from '@sluice/runtime';
import {
  clusterServer,
  dockerSocket,
  freePort,
  killClusterNode,
  natsNodeOf,
  restartClusterNode,
  scrape,
  SLUICE_BPF,
  startReader,
  startService,
  stopService,
  testServer,
  waitFor,
  waitReady,
  egressEvent,
  type Reader,
  type ServiceProcess,
} from '@sluice/testkit';
import { ensureTemplates, failoverRetries, openSearchClient, OpenSearchWriter, parseBatch } from '@sluice/store';
import { probe, type ProbeCounts, type ProbeResult } from '../kernel/exec.ts';
import { listeners } from '../kernel/net.ts';
import { cgroup2Mount, Sandbox, type Cgroup } from '../kernel/sandbox.ts';

const NATS_URL = clusterServer('NATS_CLUSTER_URL');
const OPENSEARCH_URL = clusterServer('OPENSEARCH_CLUSTER_URL');
const REDIS_URL = testServer('REDIS_URL');
const RATE = Number(process.env.CLUSTER_LOAD_PER_S ?? 1000); // records/s per node
const R = '3';
const tag = `cl${process.pid}`;
const prefix = `${tag}-`;
const egressIndex = `${prefix}egress`;
const net = listeners();

interface Node {
  name: string;
  sb: Sandbox;
  state: string;
  reader?: Reader;
  policy?: ServiceProcess;
  load?: Cgroup;
  ok?: Cgroup;
  deny?: Cgroup;
  generated: number;
}
const nodes: Node[] = ['a', 'b'].map((n) => ({
  name: `${tag}-${n}`,
  sb: new Sandbox(`cluster-${n}`),
  state: mkdtempSync(join(tmpdir(), `cluster-${n}-`)),
  generated: 0,
}));

/** A replicated service: one process per slot, restartable with the same env. */
interface Replica {
  service: string;
  env: Record<string, string>;
  port: number;
  proc?: ServiceProcess;
}
const replicas: Replica[] = [];
let nc: NatsConnection;
let allowedPort = 0;
let phase = 'start';
const samples: Array<{ phase: string; node: string; kind: 'allow' | 'deny'; got: string }> = [];

const rel = (cg: Cgroup) => cg.path.slice(cgroup2Mount().length);
const common = (node: string): Record<string, string> => ({
  NATS_URL,
  NODE_NAME: node,
  STREAM_REPLICAS: R,
  KV_REPLICAS: R,
  LOG_LEVEL: 'warn',
});

async function startReplica(r: Replica): Promise<void> {
  r.proc = startService(r.service, { ...r.env, METRICS_PORT: String(r.port) });
  await waitReady(r.proc, r.port, `${r.service} replica on ${r.port}`, 120_000);
}

async function api<T>(subject: string, body: unknown): Promise<T> {
  const reply = (await nc.request(subject, JSON.stringify(body), { timeout: 15_000 })).json<ApiReply>();
  if (!reply.ok) throw new Error(`${subject}: ${JSON.stringify(reply.error)}`);
  return reply.result as T;
}

async function os<T>(path: string, init?: RequestInit): Promise<T> {
  // Any node of the cluster answers; the first that does.
  let last: unknown;
  for (const base of OPENSEARCH_URL.split(',')) {
    try {
      const r = await fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json' } });
      if (r.ok) return (await r.json()) as T;
      last = new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function countDocs(cg: Cgroup): Promise<number> {
  await os(`/${egressIndex}/_refresh`, { method: 'POST' });
  const q = { query: { term: { 'attributes.cgroup_id': String(cg.id) } } };
  return (await os<{ count: number }>(`/${egressIndex}/_count`, { method: 'POST', body: JSON.stringify(q) })).count;
}

/** One burst a second per node, counted: what the kernel generated is what the probe was refused. */
function startLoad(): { stop: () => Promise<void> } {
  let running = true;
  const loops = nodes.map(async (n) => {
    while (running) {
      const [c] = await probe<ProbeCounts>(n.load!.path, 'sendburst', '198.51.100.9', 9, RATE, RATE);
      if (c!.outcomes.EPERM !== c!.total) throw new Error(`${n.name}: load not denied every time: ${JSON.stringify(c)}`);
      n.generated += c!.total;
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function startSampler(): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const n of nodes) {
        const [a] = await probe<ProbeResult>(n.ok!.path, 'connect', '127.0.0.2', allowedPort);
        const [d] = await probe<ProbeResult>(n.deny!.path, 'connect', '127.0.0.2', allowedPort);
        samples.push({ phase, node: n.name, kind: 'allow', got: a!.ok ? 'OK' : a!.error });
        samples.push({ phase, node: n.name, kind: 'deny', got: d!.ok ? 'OK' : d!.error });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function metricsOf(port: number): Promise<string> {
  return scrape(port).catch(() => '');
}

/** What a replica took from its shared consumer since it started (a learner skips events of no session). */
async function work(r: Replica): Promise<number> {
  const t = await metricsOf(r.port);
  if (r.service === 'sink') return metricValue(t, 'sluice_sink_documents_total');
  if (r.service === 'learner') return metricValue(t, 'sluice_events_total') + metricValue(t, 'sluice_learner_skipped_total');
  return metricValue(t, 'sluice_events_total');
}

beforeAll(async () => {
  nc = await connect({ servers: natsServers(NATS_URL), name: 'cluster-tier', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  // This instance's cluster holds only the tier's data: start every run from empty streams, so
  // the services create them at R3 and no earlier run's messages are redelivered into this one.
  const jsm = await jetstreamManager(nc);
  for (const s of [STREAMS.raw, STREAMS.events, STREAMS.control]) await jsm.streams.delete(s.name).catch(() => undefined);
  const kvm = new Kvm(nc);
  for await (const b of kvm.list()) if (b.bucket.startsWith('cl') || b.bucket === KV_BUCKETS.dropAccounts.name) await jsm.streams.delete(`KV_${b.bucket}`);

  allowedPort = await net.tcp('127.0.0.2');
  for (const n of nodes) {
    await n.sb.setup();
    n.load = n.sb.cgroup('load');
    n.ok = n.sb.cgroup('ok');
    n.deny = n.sb.cgroup('deny');
  }
  // Node-scoped: one reader and one policy service per node, on that node's pin dir and scope.
  for (const n of nodes) {
    n.reader = await startReader({
      ...common(n.name),
      SLUICE_BPF_PIN: n.sb.pin,
      READER_STATE_DIR: n.state,
      READER_RATE_PER_S: '0',
      READER_DROPS_BUCKET: `${tag}-drops`,
      LOG_LEVEL: 'info', // startReader reads its metrics port from an info line
    });
    const port = await freePort();
    n.policy = startService('policy', {
      ...common(n.name),
      METRICS_PORT: String(port),
      POLICY_BUCKET: `${tag}-policy`,
      SLUICE_BPF_BIN: SLUICE_BPF,
      SLUICE_BPF_PIN: n.sb.pin,
      SLUICE_MANAGED_CGROUPS: n.sb.scope.slice(cgroup2Mount().length),
      RECONCILE_INTERVAL_S: '5',
      LOG_LEVEL: 'info', // its syncs, for the diagnosis of a setup that timed out
    });
    await waitReady(n.policy, port, `policy ${n.name}`, 120_000);
  }
  // Replicated: two of each, on the same durable consumers. The attributors answer their own
  // node's identity API (one per node here, as with one Docker engine per node).
  for (const n of nodes) {
    replicas.push({
      service: 'attributor',
      port: await freePort(),
      env: {
        ...common(n.name),
        REDIS_URL,
        REDIS_PREFIX: `sluice-cluster:${tag}`,
        DOCKER_SOCKET: dockerSocket(),
        CONSUMER_NAME: `${tag}-attr`,
        // Never the host's sluice-runc request dir: those containers are not this test's.
        SLUICE_RUNTIME_DIR: join(n.state, 'runtime'),
        SLUICE_MANAGED_CGROUPS: n.sb.scope.slice(cgroup2Mount().length),
      },
    });
  }
  for (let i = 0; i < 2; i++) {
    replicas.push({ service: 'learner', port: await freePort(), env: { ...common(nodes[i]!.name), REDIS_URL, LEARNER_DURABLE: `${tag}-learner`, LEARNER_KEY_PREFIX: `sluice-cluster:${tag}:learn:` } });
    replicas.push({
      service: 'sink',
      port: await freePort(),
      env: { ...common(nodes[i]!.name), OPENSEARCH_URL, SINK_INDEX_PREFIX: prefix, SINK_CONSUMER_PREFIX: `${tag}-sink` },
    });
  }
  await Promise.all(replicas.map(startReplica));

  await api(apiSubject(POLICY_API, 'apply'), {
    actor: 'cluster-tier',
    yaml: `version: 1
policies:
  - name: cluster-ok
    match: { project: ${tag}, agent: ok }
    loopback: false
    egress:
      allow:
        - { cidr: 127.0.0.2/32, ports: [${allowedPort}] }
`,
  });
  for (const n of nodes) {
    await api(apiSubject(IDENTITY_API, 'register'), { node: n.name, cgroup_path: rel(n.ok!), agent: 'ok', project: tag });
    await waitFor(
      `${n.name}: the registered agent allowed`,
      async () => ((await probe<ProbeResult>(n.ok!.path, 'connect', '127.0.0.2', allowedPort))[0]!.ok ? true : undefined),
      60_000,
    ).catch(async (err: unknown) => {
      // Seen once in two runs (node a, 2026-12-01): say what the node's maps and services had.
      const attr = replicas.find((r) => r.service === 'attributor' && r.env.NODE_NAME === n.name)?.proc;
      const entries = await n.sb.dump('cgroup_policy').catch((e: unknown) => String(e));
      throw new Error(
        `${(err as Error).message}\ncgroup ${n.ok!.id}, cgroup_policy: ${JSON.stringify(entries)}\n` +
          `policy stderr: ${n.policy!.stderr().slice(-3000)}\nattributor stderr: ${attr?.stderr().slice(-3000)}`,
      );
    });
  }
}, 600_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => (r.proc ? stopService(r.proc, 8000) : undefined)));
  for (const n of nodes) {
    if (n.policy) await stopService(n.policy, 8000);
    if (n.reader) await n.reader.stop();
    await n.sb.teardown();
    rmSync(n.state, { recursive: true, force: true });
  }
  await fetch(`${OPENSEARCH_URL.split(',')[0]}/_data_stream/${prefix}*`, { method: 'DELETE' }).catch(() => undefined);
  await fetch(`${OPENSEARCH_URL.split(',')[0]}/_index_template/${prefix}*`, { method: 'DELETE' }).catch(() => undefined);
  await nc?.close();
  await net.close();
}, 120_000);

describe('cluster tier: two nodes, R3 JetStream, two OpenSearch nodes, two replicas of everything else', () => {
  it('creates streams at the configured replicas and reports, never changes, one made otherwise', async () => {
    const jsm = await jetstreamManager(nc);
    const quiet = createLogger('cluster-tier', 'silent');
    const spec = { ...STREAMS.control, name: `CLDRIFT_${process.pid}`, subjects: [`cldrift.${process.pid}.>`] };
    try {
      expect(await ensureStream(jsm, spec, quiet, { replicas: 1 })).toEqual([]);
      const drift = await ensureStream(jsm, spec, quiet, { replicas: 3 });
      expect(drift).toEqual([{ object: `stream ${spec.name}`, field: 'num_replicas', expected: 3, actual: 1 }]);
      expect((await jsm.streams.info(spec.name)).config.num_replicas).toBe(1);
      // The services' own streams: R3, a leader and two current peers.
      for (const s of [STREAMS.raw, STREAMS.events, STREAMS.control]) {
        expect(await ensureStream(jsm, s, quiet, { replicas: 3 }), s.name).toEqual([]);
      }
    } finally {
      await jsm.streams.delete(spec.name).catch(() => undefined);
    }
  });

  it('fails over between OpenSearch hosts: a dead host in the list costs no write', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const url = `${dead},${OPENSEARCH_URL}`;
    const client = openSearchClient({ url });
    const foPrefix = `${prefix}fo-`;
    await ensureTemplates(client, foPrefix, createLogger('cluster-tier', 'silent'));
    const writer = new OpenSearchWriter(client, foPrefix, 30_000, failoverRetries(url));
    const events = Array.from({ length: 12 }, (_, i) => egressEvent(i, { id: `${tag}-fo-${i}` }));
    const { docs } = parseBatch('egress', events.map((e) => JSON.stringify(e)).join('\n'), new Date().toISOString());
    // One bulk per document: round-robin hands some of them to the dead host first.
    for (const d of docs) expect(await writer.write([{ source: 'egress', id: d.id, json: d.json }])).toEqual([{ kind: 'created' }]);
    await writer.close();
    await os(`/${foPrefix}egress/_refresh`, { method: 'POST' });
    expect((await os<{ count: number }>(`/${foPrefix}egress/_count`)).count).toBe(12);
  });

  it('keeps every record and every verdict through a NATS crash, an OpenSearch stop and replica crashes', async () => {
    const jsm = await jetstreamManager(nc);
    for (const s of [STREAMS.raw, STREAMS.events]) expect((await jsm.streams.info(s.name)).config.num_replicas, s.name).toBe(3);
    const load = startLoad();
    const sampler = startSampler();
    const log = (m: string) => process.stderr.write(`cluster tier: ${m}\n`);
    try {
      phase = 'steady';
      await waitFor('documents from both nodes', async () => ((await countDocs(nodes[0]!.load!)) > 0 && (await countDocs(nodes[1]!.load!)) > 0 ? true : undefined), 120_000);
      // The sink's template asks for one replica wherever a second data node exists.
      const settings = await os<Record<string, { settings: { index: { number_of_replicas: string } } }>>(`/${egressIndex}/_settings`);
      for (const [index, s] of Object.entries(settings)) expect(s.settings.index.number_of_replicas, index).toBe('1');
      await os(`/_cluster/health/${egressIndex}?wait_for_status=green&timeout=60s`);
      // The work spreads: every replica of every replicated service takes some of it.
      await waitFor('work on every replica', async () => ((await Promise.all(replicas.map(work))).every((w) => w > 0) ? true : undefined), 60_000);
      log(`steady: work per replica ${JSON.stringify(await Promise.all(replicas.map(async (r) => `${r.service}:${await work(r)}`)))}`);

      phase = 'nats-kill';
      const leader = (await jsm.streams.info(STREAMS.events.name)).cluster?.leader;
      if (!leader) throw new Error('SLUICE_EVENTS reports no leader: is NATS_CLUSTER_URL a cluster?');
      const victim = natsNodeOf(leader);
      log(`kill -9 ${victim} (leader of ${STREAMS.events.name})`);
      await killClusterNode(victim, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 5000));
      await restartClusterNode(victim);
      await waitFor(
        'every R3 stream whole again',
        async () => {
          for (const s of [STREAMS.raw, STREAMS.events]) {
            const c = (await jsm.streams.info(s.name)).cluster;
            if (!c?.leader || c.replicas?.length !== 2 || c.replicas.some((p: { current: boolean; offline?: boolean }) => !p.current || p.offline)) return undefined;
          }
          return true;
        },
        120_000,
      );

      phase = 'opensearch-stop';
      log('stop opensearch-c2');
      await killClusterNode('opensearch-c2', 'SIGTERM');
      await new Promise((r) => setTimeout(r, 5000));
      await restartClusterNode('opensearch-c2');
      await os(`/_cluster/health?wait_for_nodes=2&timeout=120s`);

      phase = 'replica-kill';
      for (const service of ['attributor', 'learner', 'sink']) {
        const r = replicas.find((x) => x.service === service)!;
        log(`kill -9 ${service} replica pid ${r.proc!.child.pid}`);
        r.proc!.child.kill('SIGKILL');
        await r.proc!.exited;
      }
      await new Promise((r) => setTimeout(r, 5000));
      for (const service of ['attributor', 'learner', 'sink']) await startReplica(replicas.find((x) => x.service === service)!);
      await new Promise((r) => setTimeout(r, 5000));
      phase = 'after';
    } finally {
      await load.stop();
      await sampler.stop();
    }

    // Drain: everything generated either searchable or counted as dropped.
    const drops = async (n: Node) => {
      const text = await n.reader!.metrics();
      const byReason: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const m = /^sluice_events_dropped_total\{([^}]*)\} (\S+)/.exec(line);
        if (!m) continue;
        const reason = /reason="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
        const stage = /stage="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
        byReason[`${stage}/${reason}`] = (byReason[`${stage}/${reason}`] ?? 0) + Number(m[2]);
      }
      return byReason;
    };
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, v) => a + v, 0);
    for (const n of nodes) {
      await waitFor(
        `${n.name}: generated = indexed + dropped`,
        async () => ((await countDocs(n.load!)) + sum(await drops(n)) >= n.generated ? true : undefined),
        300_000,
      ).catch(() => undefined); // the assertion below shows the numbers
    }
    for (const n of nodes) {
      const indexed = await countDocs(n.load!);
      const dropped = await drops(n);
      log(`${n.name}: generated ${n.generated}, indexed ${indexed}, dropped ${JSON.stringify(dropped)}`);
      expect(n.generated).toBeGreaterThan(RATE * 30);
      expect(indexed + sum(dropped), n.name).toBe(n.generated);
    }

    // No document twice: one backing index, one shard, so a terms aggregation is exact.
    const dup = await os<{ aggregations: { ids: { buckets: unknown[] } }; hits: { total: { value: number } } }>(`/${egressIndex}/_search`, {
      method: 'POST',
      body: JSON.stringify({ size: 0, track_total_hits: true, aggs: { ids: { terms: { field: 'attributes.id', min_doc_count: 2, size: 100 } } } }),
    });
    log(`documents ${dup.hits.total.value}, ids seen twice: ${dup.aggregations.ids.buckets.length}`);
    expect(dup.aggregations.ids.buckets).toEqual([]);

    // Kernel verdicts: every sample right, in every phase, on both nodes.
    const byPhase = new Map<string, { n: number; wrong: number }>();
    for (const s of samples) {
      const k = `${s.phase} ${s.node} ${s.kind}`;
      const e = byPhase.get(k) ?? { n: 0, wrong: 0 };
      e.n++;
      if (s.got !== (s.kind === 'allow' ? 'OK' : 'EPERM')) e.wrong++;
      byPhase.set(k, e);
    }
    log(`verdict samples: ${JSON.stringify(Object.fromEntries(byPhase))}`);
    for (const p of ['steady', 'nats-kill', 'opensearch-stop', 'replica-kill']) {
      for (const n of nodes) for (const kind of ['allow', 'deny']) expect(byPhase.get(`${p} ${n.name} ${kind}`)?.n ?? 0, `${p} ${n.name} ${kind}`).toBeGreaterThan(0);
    }
    expect(samples.filter((s) => s.got !== (s.kind === 'allow' ? 'OK' : 'EPERM'))).toEqual([]);

    // Since each replica's last start; a sink's `duplicate` documents are redeliveries of what a
    // killed replica had written but not acked, answered 409 by OpenSearch, not stored again.
    for (const r of replicas) {
      const t = await metricsOf(r.port);
      const extra = r.service === 'sink' ? `, created ${metricValue(t, 'sluice_sink_documents_total', { outcome: 'created' })}, duplicate ${metricValue(t, 'sluice_sink_documents_total', { outcome: 'duplicate' })}` : '';
      log(`${r.service} replica :${r.port} took ${await work(r)}${extra}`);
    }
  }, 1_800_000);
});
