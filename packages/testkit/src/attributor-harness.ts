// Test harness for the attributor's integration tests: real Docker containers, raw batches naming
// their real cgroup ids published to SLUICE_RAW, the attributor as a child process, and a reader
// of what it published. Every name is unique per run so test files never collide.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { ensureStream, createLogger } from '@sluice/runtime';
import { RpcReply, STREAMS, subjects } from '@sluice/contracts';
import { cgroupOfPid, findCgroup2Mount } from '../../../services/attributor/src/cgroup.ts';
import { freePort } from './free-port.ts';
import { type RecordSpec } from './kernel-records.ts';
import { encodeBatch } from './raw-batches.ts';
import { scrape } from './scrape.ts';
import { dockerSocket, testServer } from './servers.ts';
import { startService, type ServiceProcess } from './service-process.ts';

export const TEST_IMAGE = 'sluice/base:busybox';

export interface PublishedLine {
  subject: string;
  doc: Record<string, unknown> & { id: string };
  /** The whole message's bytes as published (every line of it), for parsers that read bytes. */
  message: Uint8Array;
}

export class AttributorHarness {
  readonly run = randomUUID().slice(0, 8);
  readonly node = `attr-it-${this.run}`;
  readonly bootId = randomUUID();
  readonly durable = `attr-it-${this.run}`;
  readonly natsUrl = testServer('NATS_URL');
  readonly redisUrl = testServer('REDIS_URL');
  readonly dockerSocket = dockerSocket();
  readonly docker = new Docker({ socketPath: this.dockerSocket });
  nc!: NatsConnection;
  mount!: string;
  metricsPort = 0;
  private seq = 1;
  private readonly containers: string[] = [];
  readonly events: PublishedLine[] = [];
  readonly control: PublishedLine[] = [];
  private readers: ConsumerMessages[] = [];

  async setup(): Promise<void> {
    this.nc = await connect({ servers: this.natsUrl });
    const jsm = await jetstreamManager(this.nc);
    const log = createLogger('attributor-test', 'silent');
    for (const s of [STREAMS.raw, STREAMS.events, STREAMS.control]) await ensureStream(jsm, s, log);
    this.mount = await findCgroup2Mount();
    this.metricsPort = await freePort();
    const since = new Date(Date.now() - 1000).toISOString();
    // One filter per consumer: the Debian NATS server predates multi-filter consumers (2.10).
    for (const f of [subjects.eventsAll, subjects.dnsAll]) this.readers.push(await this.follow(STREAMS.events.name, f, since, this.events));
    for (const f of [subjects.containersAll, subjects.auditAll]) this.readers.push(await this.follow(STREAMS.control.name, f, since, this.control));
  }

  private async follow(stream: string, filter: string, since: string, into: PublishedLine[]): Promise<ConsumerMessages> {
    const c = await jetstream(this.nc).consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: since,
    });
    const iter = await c.consume();
    void (async () => {
      for await (const m of iter) {
        for (const text of m.string().split('\n')) {
          if (!text) continue;
          let doc: PublishedLine['doc'];
          try {
            doc = JSON.parse(text) as PublishedLine['doc'];
          } catch {
            continue; // other writers' messages on shared subjects are not ours to judge
          }
          const mine = doc.node === this.node || (doc.subject as { node?: string } | undefined)?.node === this.node;
          if (mine) into.push({ subject: m.subject, doc, message: m.data });
        }
      }
    })();
    return iter;
  }

  env(over: Record<string, string> = {}): Record<string, string> {
    return {
      NATS_URL: this.natsUrl,
      REDIS_URL: this.redisUrl,
      DOCKER_SOCKET: this.dockerSocket,
      NODE_NAME: this.node,
      METRICS_PORT: String(this.metricsPort),
      LOG_LEVEL: 'info',
      RAW_FILTER: subjects.raw(this.node),
      CONSUMER_NAME: this.durable,
      REDIS_PREFIX: `sluice-it:${this.run}`,
      GRACE_MS: '1500',
      START_SLACK_MS: '500',
      NEGATIVE_TTL_MS: '300',
      SCAN_INTERVAL_MS: '200',
      ACK_WAIT_MS: '2000',
      // The test's containers run where Docker puts them by default: that is the managed scope here.
      SLUICE_MANAGED_CGROUPS: '/docker,/system.slice',
      ...over,
    };
  }

  startAttributor(over: Record<string, string> = {}): ServiceProcess {
    return startService('attributor', this.env(over));
  }

  async runContainer(labels: Record<string, string>, opts: { capDrop?: string[]; cgroupParent?: string } = {}): Promise<{ id: string; cgroupId: bigint; ip: string }> {
    const c = await this.docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { ...labels, 'sluice.test': this.run },
      HostConfig: { CapDrop: opts.capDrop ?? [], AutoRemove: false, ...(opts.cgroupParent ? { CgroupParent: opts.cgroupParent } : {}) },
    });
    this.containers.push(c.id);
    await c.start();
    const info = await c.inspect();
    const cg = await cgroupOfPid(this.mount, info.State.Pid);
    if (!cg) throw new Error(`no cgroup for container ${c.id}`);
    return { id: c.id, cgroupId: BigInt(cg.id), ip: (info.NetworkSettings as unknown as { IPAddress: string }).IPAddress };
  }

  /** Run a command inside a running container; resolves with its exit code and output. */
  async exec(id: string, cmd: string[]): Promise<{ code: number; output: string }> {
    const ex = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({});
    let output = '';
    stream.on('data', (d: Buffer) => (output += d.toString('latin1')));
    await new Promise<void>((resolve, reject) => {
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const info = await ex.inspect();
    return { code: info.ExitCode ?? -1, output };
  }

  async removeContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).remove({ force: true });
  }

  /**
   * Publish one raw batch of records (ts defaults to now); returns the event ids it carries.
   * `extra`: more headers for the batch (a `traceparent`, as a traced reader would send).
   */
  async publishRaw(records: RecordSpec[], extra: Record<string, string> = {}): Promise<string[]> {
    const now = BigInt(Date.now()) * 1_000_000n;
    const firstSeq = this.seq;
    this.seq += records.length;
    const b = encodeBatch(
      records.map((r) => ({ ...r, tsNs: r.tsNs ?? now })),
      { node: this.node, bootId: this.bootId, firstSeq, wallOffsetNs: 0n },
      'packed', // as the reader publishes them
    );
    const h = natsHeaders();
    for (const [k, v] of b.headers) h.set(k, v);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    await jetstream(this.nc).publish(subjects.raw(this.node), b.body, { headers: h, msgID: h.get('Nats-Msg-Id') });
    return records.map((_, i) => `${this.node}:${this.bootId}:${firstSeq + i}`);
  }

  byId(): Map<string, PublishedLine[]> {
    const m = new Map<string, PublishedLine[]>();
    for (const l of this.events) m.set(l.doc.id, [...(m.get(l.doc.id) ?? []), l]);
    return m;
  }

  metrics(): Promise<string> {
    return scrape(this.metricsPort);
  }

  async request(verb: string, body: unknown): Promise<{ ok: boolean; identity?: Record<string, unknown> | null; error?: string }> {
    const r = RpcReply.parse((await this.nc.request(subjects.api('identity', verb), JSON.stringify(body), { timeout: 5000 })).json());
    return r.ok ? { ok: true, identity: r.result as Record<string, unknown> | null } : { ok: false, error: r.error.message };
  }

  /**
   * Register a cgroup with this harness's attributor. Every attributor on the bus (other test
   * files run theirs at the same time) shares the `attributor` queue group, and one of another
   * node refuses the request naming it: ask again until ours answered.
   */
  async register(body: Record<string, unknown>): Promise<{ ok: boolean; identity?: Record<string, unknown> | null; error?: string }> {
    for (let i = 0; ; i++) {
      const r = await this.request('register', { node: this.node, ...body });
      if (r.ok || !/is not this attributor's node/.test(r.error ?? '') || i >= 20) return r;
    }
  }

  async teardown(): Promise<void> {
    for (const r of this.readers) await r.close();
    for (const id of this.containers) await this.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    const jsm = await jetstreamManager(this.nc);
    await jsm.consumers.delete(STREAMS.raw.name, this.durable).catch(() => undefined);
    await this.nc.close();
    const redis = new Redis(this.redisUrl);
    try {
      const keys = await redis.keys(`sluice-it:${this.run}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }
}
