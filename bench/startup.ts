// Start time and memory of each service, compiled (dist/main.js, `pnpm build`) against the same
// service through tsx (what ran before: TypeScript transpiled at every start), side by side in one
// run with the order alternated per round. Start time: spawn → the first /healthz answer (process up,
// config validated, metrics server listening). RSS: once it answers, and after 3 s settled.
// Servers: the bench's own NATS and Redis (NATS_URL / REDIS_URL from scripts/bench.sh's private
// instance); the policy service runs without a helper (no kernel maps), the reader without a ring.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMb } from './lib/proc.ts';
import { median } from './lib/stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = ['bpf-reader', 'attributor', 'policy', 'learner', 'sink'] as const;
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Mode = 'compiled' | 'tsx';

async function startOnce(service: string, mode: Mode): Promise<{ startMs: number; rssStartMb: number; rssSettledMb: number }> {
  const port = await freePort();
  const dir = join(ROOT, 'services', service);
  const args = mode === 'compiled' ? ['--enable-source-maps', join(dir, 'dist', 'main.js')] : ['--import', 'tsx', join(dir, 'src', 'main.ts')];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NATS_URL: process.env.NATS_URL,
      REDIS_URL: process.env.REDIS_URL,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
      // Private names: never the durables or buckets of a running pipeline.
      NODE_NAME: `bench-startup-${process.pid}`,
      SINK_DATA_DIR: join(process.env.SLUICE_RUN_DIR ?? '/tmp', 'bench-startup-events'),
      READER_STATE_DIR: join(process.env.SLUICE_RUN_DIR ?? '/tmp', 'bench-startup-reader'),
      SLUICE_BPF_BIN: service === 'bpf-reader' ? '/bin/false' : '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${service} (${mode}) exited ${child.exitCode}: ${err.slice(-400)}`);
      if (performance.now() - t0 > 60_000) throw new Error(`${service} (${mode}) did not answer /healthz in 60 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const startMs = performance.now() - t0;
    const rssStartMb = rssMb(child.pid!);
    await new Promise((r) => setTimeout(r, 3000));
    return { startMs, rssStartMb, rssSettledMb: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

export async function run(): Promise<Record<string, number>> {
  if (!process.env.NATS_URL || !process.env.REDIS_URL) throw new Error('startup bench needs NATS_URL and REDIS_URL (run it through pnpm bench)');
  const figures: Record<string, number> = {};
  const ratios: number[] = [];
  for (const service of SERVICES) {
    const samples: Record<Mode, Awaited<ReturnType<typeof startOnce>>[]> = { compiled: [], tsx: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order: Mode[] = round % 2 === 0 ? ['compiled', 'tsx'] : ['tsx', 'compiled'];
      for (const mode of order) samples[mode].push(await startOnce(service, mode));
    }
    for (const mode of ['compiled', 'tsx'] as const) {
      figures[`startup.${service}.${mode}_ms`] = Math.round(median(samples[mode].map((s) => s.startMs)));
      figures[`startup.${service}.${mode}_rss_mb`] = Math.round(median(samples[mode].map((s) => s.rssSettledMb)));
    }
    const ratio = figures[`startup.${service}.compiled_ms`]! / figures[`startup.${service}.tsx_ms`]!;
    figures[`startup.${service}.compiled_ratio`] = ratio;
    ratios.push(ratio);
    process.stderr.write(
      `startup: ${service} compiled ${figures[`startup.${service}.compiled_ms`]} ms / ${figures[`startup.${service}.compiled_rss_mb`]} MiB, tsx ${figures[`startup.${service}.tsx_ms`]} ms / ${figures[`startup.${service}.tsx_rss_mb`]} MiB\n`,
    );
  }
  // Goal ≤ 0.5 (issue 17): compiled start time over tsx start time, median over the five services.
  figures['startup.compiled_ratio'] = median(ratios);
  return figures;
}
