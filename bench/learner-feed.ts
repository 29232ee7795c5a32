// The learner service under a denial storm, through NATS (real JetStream, Redis, policy service):
// what the e2e bench's learner costs (`e2e.side.learner_cpu_cores`), measured on its own. One
// workload retries four destinations; SLUICE_EVENTS gets its DENIED events in messages of 500 lines
// (what the attributor publishes for one raw batch at ~10k/s), and the learner's two consumers (the
// learn consumer, which acks by subject when no session watches, and the denial feed, which
// announces every denial with its advice) drain them.
//   learner.feed_cpu_us_per_event   the learner process's CPU per event over the drain (µs): the
//                                   backlog published at once, drained as fast as it goes
//   learner.feed_events_per_s       events drained per second (every notice received)
//   learner.feed_paced_cpu_us_per_event  the same at 10k events/s (a message every 50 ms, as the
//                                   e2e bench's burst arrives), for BENCH_LEARNER_FEED_PACED_S
//                                   (default 20) seconds: a mostly idle process's cost per event
//   learner.feed_notices            notices the bench received on the workload's denial subject:
//                                   must equal the events (the run fails otherwise)
// BENCH_LEARNER_PROFILE_DIR: run the learner with --cpu-prof into that directory;
// BENCH_LEARNER_NODE_ARGS: node flags for it (lib/side-services.ts).
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
const PACED_S = Number(process.env.BENCH_LEARNER_FEED_PACED_S ?? (process.env.BENCH_QUICK ? 10 : 20));
const PACED_GAP_MS = 50; // 500 events every 50 ms: 10k/s

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
          // Shaped as the attributor writes a container's denial (docker attribution, 64-hex id,
          // name and image, cookie, tid): what the e2e bench's learner reads.
          attempt(tag, project, agent, { ip: `198.51.100.${i % 4}`, port: 9, proto: 'udp' }, {
            id: `${tag}-node:5f0c3a9e1b7d4c2a8e6f1d3b5a7c9e0f:${m * PER_MESSAGE + i}`,
            kind: 'sendmsg',
            verdict: 'DENIED',
            audit: false,
            reason: 'default',
            policy_id: 0,
            node: `${tag}-node`,
            cgroup_id: '1048577',
            pid: 48213,
            tid: 48213,
            comm: 'probe',
            socket_cookie: String(90_000 + (i % 4)),
            container_id: 'a3f9c1e27b5d48e6a0c4f7b2d9e1c3a58f6b0d2e4c7a9f1b3d5e7c9a1b3d5f70',
            container_name: `/sluice-${tag}`,
            image: 'sluice-test:latest',
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
    const got = notices - before;
    if (got !== EVENTS) throw new Error(`learner-feed bench: ${got} notices for ${EVENTS} denials`);
    process.stderr.write(`learner-feed bench: ${EVENTS} denials in ${seconds.toFixed(1)} s, learner ${cpu.toFixed(2)} CPU-s (${((cpu / EVENTS) * 1e6).toFixed(1)} µs per event)\n`);

    // Paced: a message every 50 ms, each published on its own schedule (not after the last ack).
    const paced = (PACED_S * 1000) / PACED_GAP_MS;
    const pacedTexts = Array.from({ length: paced }, (_, m) => message(100_000 + m));
    const pBefore = notices;
    const pCpu0 = cpuSeconds(pid);
    const p0 = performance.now();
    for (let m = 0; m < paced; m++) {
      const due = p0 + m * PACED_GAP_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await js.publish(subject, pacedTexts[m]!, { msgID: `${tag}-p${m}` });
    }
    await waitUntil(() => notices - pBefore >= paced * PER_MESSAGE, 120_000, () => `paced: ${notices - pBefore} of ${paced * PER_MESSAGE} notices`);
    const pCpu = cpuSeconds(pid) - pCpu0;
    const pSeconds = (performance.now() - p0) / 1000;
    sub.unsubscribe();
    process.stderr.write(
      `learner-feed bench: paced ${paced * PER_MESSAGE} denials at ${Math.round((paced * PER_MESSAGE) / pSeconds)}/s, learner ${pCpu.toFixed(2)} CPU-s (${((pCpu / (paced * PER_MESSAGE)) * 1e6).toFixed(1)} µs per event, ${(pCpu / pSeconds).toFixed(2)} cores)\n`,
    );
    return {
      'learner.feed_cpu_us_per_event': Number(((cpu / EVENTS) * 1e6).toFixed(1)),
      'learner.feed_events_per_s': Math.round(EVENTS / seconds),
      'learner.feed_notices': got,
      'learner.feed_paced_cpu_us_per_event': Number(((pCpu / (paced * PER_MESSAGE)) * 1e6).toFixed(1)),
      'learner.feed_paced_cores': Number((pCpu / pSeconds).toFixed(3)),
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
