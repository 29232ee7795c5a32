// The services the e2e bench runs beside the egress path so every service's memory is measured on
// the same servers in the same run: the learner on the run's project (it reads every egress event,
// as a deployed learner does), the policy service on a private bucket with no kernel helper (its
// API and store; the bench's sandbox keeps its own maps), and an otlp-receiver on a private node
// name (idle: nothing sends OTLP in this bench).
// BENCH_E2E_PROFILE_DIR: run the learner and policy with --cpu-prof into that directory (written at
// their clean exit), to see where the side services' CPU goes under the e2e load.
// BENCH_LEARNER_NODE_ARGS: node flags for the learner (space-separated; e.g. V8 GC flags to try).
import { encodeToken } from '@sluice/contracts';
import { freePort, startOtlpReceiver, startService, stopService, waitReady, type OtlpReceiver, type ServiceProcess } from '@sluice/testkit';

export interface SideServices {
  pids: Record<string, number>;
  stop(): Promise<void>;
}

export async function startSideServices(tag: string, project: string, env: { NATS_URL: string; REDIS_URL: string }): Promise<SideServices> {
  const started: ServiceProcess[] = [];
  let otlp: OtlpReceiver | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => stopService(p, 8000)));
    await otlp?.stop();
  };
  const profileDir = process.env.BENCH_E2E_PROFILE_DIR;
  // One directory per service: tsx's loader thread writes a profile of its own beside the main thread's.
  const prof = (name: string) => (profileDir ? ['--cpu-prof', '--cpu-prof-dir', `${profileDir}/${name}`] : []);
  try {
    const learnerPort = await freePort();
    const learner = startService('learner', {
      ...env,
      METRICS_PORT: String(learnerPort),
      NODE_NAME: `${tag}-learner`,
      LOG_LEVEL: 'warn',
      LEARNER_KEY_PREFIX: `sluice-bench:${tag}:learn:`,
      LEARNER_DURABLE: `${tag}-learner`,
      LEARNER_FILTER: `sluice.events.${encodeToken(project)}.>`,
      LEARNER_DENIALS_DURABLE: `${tag}-learner-denials`,
      LEARNER_DENIALS_FILTER: `sluice.events.${encodeToken(project)}.*.DENIED`,
    }, [...prof('learner'), ...(process.env.BENCH_LEARNER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]);
    started.push(learner);
    const policyPort = await freePort();
    const policy = startService('policy', {
      NATS_URL: env.NATS_URL,
      METRICS_PORT: String(policyPort),
      NODE_NAME: `${tag}-policy`,
      LOG_LEVEL: 'warn',
      POLICY_BUCKET: `${tag}-policy`,
    }, prof('policy'));
    started.push(policy);
    otlp = await startOtlpReceiver({ NATS_URL: env.NATS_URL, NODE_NAME: `${tag}-otlp`, LOG_LEVEL: 'warn' });
    await waitReady(learner, learnerPort, 'learner');
    await waitReady(policy, policyPort, 'policy');
    return {
      pids: { learner: learner.child.pid!, policy: policy.child.pid!, 'otlp-receiver': otlp.proc.child.pid! },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
