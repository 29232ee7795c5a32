// The learner service under a denial storm, through NATS (real JetStream, Redis, policy service):
// what the e2e bench's learner costs (`e2e.side.learner_cpu_cores`), measured on its own. One
// workload retries four destinations; SLUICE_EVENTS gets its DENIED events in messages of 500 lines
// (what the attributor publishes for one raw batch at ~10k/s), and the learner's two consumers (the
// learn consumer, which acks by subject when no session watches, and the denial feed, which
// announces every denial with its advice) drain them.
//   learner.feed_cpu_us_per_event   the learner process's CPU per event over the drain (µs)
//   learner.feed_events_per_s       events drained per second (every notice received)
//   learner.feed_notices            notices the bench received on the workload's denial subject:
//                                   must equal the events (the run fails otherwise)
// BENCH_LEARNER_PROFILE_DIR: run the learner with --cpu-prof into that directory.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { STREAMS, subjects } from '@sluice/contracts';
import { createLogger, ensureStream, natsServers } from '@sluice/runtime';
import { attempt, testServer } from '@sluice/testkit';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpuSeconds } from './lib/proc.ts';
import { startSideServices } from './lib/side-services.ts';

const exec = promisify(execFile);
const EVENTS = Number(process.env.BENCH_LEARNER_FEED_EVENTS ?? (process.env.BENCH_QUICK ? 100_000 : 200_000));
const PER_MESSAGE = 500;

export async function run(): Promise<Record<string, number>> {
  const NATS_URL = testServer('NATS_URL');
  const REDIS_URL = testServer('REDIS_URL');
  const tag = `feedbench${process.pid}`;
  const project = `proj-${tag}`;
  const agent = 'storm-agent';
  const nc = await connect({ servers: natsServers(NATS_URL) });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const subject = subjects.events(project, agent, 'DENIED');
  let side: Awaited<ReturnType<typeof startSideServices>> | undefined;
  try {
    await ensureStream(jsm, STREAMS.events, createLogger('bench', 'silent'));
    if (process.env.BENCH_LEARNER_PROFILE_DIR) process.env.BENCH_E2E_PROFILE_DIR = process.env.BENCH_LEARNER_PROFILE_DIR;
    side = await startSideServices(tag, project, { NATS_URL, REDIS_URL });
    const pid = side.pids['learner']!;
    const message = (m: number): string =>
      Array.from({ length: PER_MESSAGE }, (_, i) =>
        JSON.stringify(
          attempt(tag, project, agent, { ip: `198.51.100.${i % 4}`, port: 9, proto: 'udp' }, {
            id: `${tag}:storm:${m * PER_MESSAGE + i}`,
            kind: 'sendmsg',
            verdict: 'DENIED',
            audit: false,
            reason: 'default',
            policy_id: 0,
            node: `${tag}-node`,
            cgroup_id: '1',
            pid: 1,
            comm: 'probe',
          }),
        ),
      ).join('\n');
    let notices = 0;
    const sub = nc.subscribe(subjects.denialsFor(project, agent), { callback: () => void notices++ });
    // Warm-up: the learner's code paths and the policy view, not counted.
    const warm = 20 * PER_MESSAGE;
    for (let m = 0; m < 20; m++) await js.publish(subject, message(m), { msgID: `${tag}-w${m}` });
    await waitUntil(() => notices >= warm, 120_000, () => `warm-up: ${notices} of ${warm} notices`);
    const messages = Array.from({ length: EVENTS / PER_MESSAGE }, (_, m) => message(1000 + m));
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const before = notices;
    for (const [m, text] of messages.entries()) await js.publish(subject, text, { msgID: `${tag}-m${m}` });
    await waitUntil(() => notices - before >= EVENTS, 300_000, () => `${notices - before} of ${EVENTS} notices`);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    sub.unsubscribe();
    const got = notices - before;
    if (got !== EVENTS) throw new Error(`learner-feed bench: ${got} notices for ${EVENTS} denials`);
    process.stderr.write(`learner-feed bench: ${EVENTS} denials in ${seconds.toFixed(1)} s, learner ${cpu.toFixed(2)} CPU-s (${((cpu / EVENTS) * 1e6).toFixed(1)} µs per event)\n`);
    return {
      'learner.feed_cpu_us_per_event': Number(((cpu / EVENTS) * 1e6).toFixed(1)),
      'learner.feed_events_per_s': Math.round(EVENTS / seconds),
      'learner.feed_notices': got,
    };
  } finally {
    await side?.stop();
    for (const d of [`${tag}-learner`, `${tag}-learner-denials`]) await jsm.consumers.delete(STREAMS.events.name, d).catch(() => undefined);
    await jsm.streams.delete(`KV_${tag}-policy`).catch(() => undefined);
    await jsm.streams.purge(STREAMS.events.name, { filter: subject }).catch(() => undefined);
    await exec('sh', ['-c', `redis-cli -u ${REDIS_URL} --scan --pattern 'sluice-bench:${tag}:*' | xargs -r redis-cli -u ${REDIS_URL} del`]).catch(() => undefined);
    await nc.close();
  }
}

async function waitUntil(ok: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`learner-feed bench: timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
