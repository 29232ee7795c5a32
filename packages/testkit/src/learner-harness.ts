// Shared by the learner's integration tests: real learner child processes (tsx), real NATS and
// Redis, events published the way the attributor publishes them (NDJSON batches on
// sluice.events.<project>.<agent>.<verdict> in SLUICE_EVENTS). Every name is unique per run.
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { apiSubject, encodeToken, LEARN_API, STREAMS, subjects, type EgressEvent } from '@sluice/contracts';
import { createLogger, ensureStream } from '@sluice/runtime';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import { testServer } from './servers.ts';
import { startService, stopService, waitReady, type ServiceProcess } from './service-process.ts';
import { waitFor } from './wait-for.ts';

export interface LearnerHarness {
  run: string;
  project: string;
  prefix: string;
  durable: string;
  natsUrl: string;
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

export async function learnerHarness(tag: string, extraEnv: Record<string, string> = {}): Promise<LearnerHarness> {
  const run = `${tag}-${randomBytes(4).toString('hex')}`;
  const project = `learntest-${run}`;
  const prefix = `sluice:learntest:${run}:`;
  const durable = `learntest-${run}`;
  const natsUrl = testServer('NATS_URL');
  const redisUrl = extraEnv.REDIS_URL ?? testServer('REDIS_URL');
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, STREAMS.events, createLogger('test', 'silent'));
  const js = jetstream(nc);
  const redis = new Redis(redisUrl);
  const learners: ServiceProcess[] = [];
  const portOf = new Map<ServiceProcess, number>();

  const h: LearnerHarness = {
    run,
    project,
    prefix,
    durable,
    natsUrl,
    nc,
    jsm,
    redis,
    learners,
    portOf,
    async spawn() {
      const port = await freePort();
      const p = startService('learner', {
        NATS_URL: natsUrl,
        REDIS_URL: redisUrl,
        METRICS_PORT: String(port),
        NODE_NAME: `learntest-${learners.length}`,
        LOG_LEVEL: 'warn',
        LEARNER_KEY_PREFIX: prefix,
        LEARNER_DURABLE: durable,
        LEARNER_FILTER: `sluice.events.${encodeToken(project)}.>`,
        // The denial feed gets a durable of this run too, on this run's project only.
        LEARNER_DENIALS_DURABLE: `${durable}-denials`,
        LEARNER_DENIALS_FILTER: `sluice.events.${encodeToken(project)}.*.DENIED`,
        LEARNER_ACK_WAIT_MS: '2000',
        LEARNER_RETRY_DELAY_MS: '100',
        LEARNER_POLICY_TIMEOUT_MS: '2000',
        ...extraEnv,
      });
      learners.push(p);
      portOf.set(p, port);
      await waitReady(p, port, 'learner');
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
      await jsm.consumers.delete(STREAMS.events.name, `${durable}-denials`).catch(() => undefined);
      await jsm.streams.purge(STREAMS.events.name, { filter: `sluice.events.${encodeToken(project)}.>` }).catch(() => undefined);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await nc.close();
    },
  };
  return h;
}
