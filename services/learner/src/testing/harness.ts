// Shared by the learner's integration tests: real learner child processes (tsx), real NATS and
// Redis, events published the way the attributor publishes them (NDJSON batches on
// sluice.events.<project>.<agent>.<verdict> in SLUICE_EVENTS). Every name is unique per run.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { apiSubject, encodeToken, LEARN_API, STREAMS, subjects, type EgressEvent } from '@sluice/contracts';
import { createLogger, ensureStream } from '@sluice/runtime';
import { Redis } from 'ioredis';
import { startService, stopService, waitFor, type ServiceProcess } from '../../../../test/lib/service-process.ts';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Harness {
  run: string;
  project: string;
  prefix: string;
  durable: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  redis: Redis;
  learners: ServiceProcess[];
  /** The metrics/health port of a spawned learner. */
  portOf: Map<ServiceProcess, number>;
  spawn(): Promise<ServiceProcess>;
  stop(p: ServiceProcess, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  request(verb: string, body: unknown): Promise<{ ok: boolean; result?: any; error?: { code: string; message: string } }>;
  publish(agent: string, events: EgressEvent[], msgId?: string): Promise<void>;
  /** Waits until the durable has nothing pending or unacknowledged. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

export async function harness(tag: string, extraEnv: Record<string, string> = {}): Promise<Harness> {
  const run = `${tag}-${randomBytes(4).toString('hex')}`;
  const project = `learntest-${run}`;
  const prefix = `sluice:learntest:${run}:`;
  const durable = `learntest-${run}`;
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, STREAMS.events, createLogger('test', 'silent'));
  const js = jetstream(nc);
  const redis = new Redis(REDIS_URL);
  const learners: ServiceProcess[] = [];
  const portOf = new Map<ServiceProcess, number>();

  const h: Harness = {
    run,
    project,
    prefix,
    durable,
    nc,
    jsm,
    redis,
    learners,
    portOf,
    async spawn() {
      const port = await freePort();
      const p = startService('learner', {
        NATS_URL,
        REDIS_URL,
        METRICS_PORT: String(port),
        NODE_NAME: `learntest-${learners.length}`,
        LOG_LEVEL: 'warn',
        LEARNER_KEY_PREFIX: prefix,
        LEARNER_DURABLE: durable,
        LEARNER_FILTER: `sluice.events.${encodeToken(project)}.>`,
        LEARNER_ACK_WAIT_MS: '2000',
        LEARNER_RETRY_DELAY_MS: '100',
        LEARNER_POLICY_TIMEOUT_MS: '2000',
        ...extraEnv,
      });
      learners.push(p);
      portOf.set(p, port);
      await waitFor(
        'learner ready',
        async () => {
          if (p.child.exitCode !== null) throw new Error(`learner exited ${p.child.exitCode}: ${p.stderr()}`);
          const r = await fetch(`http://127.0.0.1:${port}/readyz`);
          return r.status === 200 ? true : undefined;
        },
        60_000,
      );
      return p;
    },
    async stop(p, signal = 'SIGTERM') {
      if (signal === 'SIGKILL') {
        p.child.kill('SIGKILL');
        await p.exited;
      } else {
        await stopService(p, 5000);
      }
    },
    async request(verb, body) {
      const m = await nc.request(apiSubject(LEARN_API, verb), JSON.stringify(body), { timeout: 10_000 });
      return JSON.parse(m.string());
    },
    async publish(agent, events, msgId) {
      const byVerdict = new Map<string, EgressEvent[]>();
      for (const e of events) byVerdict.set(e.verdict, [...(byVerdict.get(e.verdict) ?? []), e]);
      for (const [verdict, list] of byVerdict) {
        const body = list.map((e) => JSON.stringify(e)).join('\n') + '\n';
        await js.publish(subjects.events(project, agent, verdict as EgressEvent['verdict']), body, msgId ? { msgID: `${msgId}-${verdict}` } : {});
      }
    },
    async drained() {
      await waitFor(
        'learner consumer drained',
        async () => {
          const info = await jsm.consumers.info(STREAMS.events.name, durable);
          return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
        },
        30_000,
      );
    },
    async close() {
      for (const p of learners) if (p.child.exitCode === null) await stopService(p, 5000);
      await jsm.consumers.delete(STREAMS.events.name, durable).catch(() => undefined);
      await jsm.streams.purge(STREAMS.events.name, { filter: `sluice.events.${encodeToken(project)}.>` }).catch(() => undefined);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await nc.close();
    },
  };
  return h;
}

let seq = 0;
/** A learn-mode attempt (audit) from `agent` to host-or-IP:port, as the attributor would emit it. */
export function attempt(
  run: string,
  project: string,
  agent: string,
  dst: { host?: string; ip: string; port: number; proto?: string },
  over: Partial<EgressEvent> = {},
): EgressEvent {
  seq++;
  return {
    id: `learntest:${run}:${seq}`,
    time: new Date().toISOString(),
    node: 'learntest',
    kind: 'connect',
    verdict: 'ALLOWED',
    audit: true,
    reason: 'learn',
    rule_id: 0,
    cgroup_id: '4242',
    pid: 100,
    comm: 'curl',
    family: dst.ip.includes(':') ? 'ipv6' : 'ipv4',
    l4_proto: dst.proto ?? 'tcp',
    dst_ip: dst.ip,
    dst_port: dst.port,
    ...(dst.host ? { dst_host: dst.host } : {}),
    attribution: 'docker',
    agent,
    project,
    container_id: `c-${agent}`,
    ...over,
  };
}
