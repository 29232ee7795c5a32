// The attributor as the service it is (main.ts in its own process, real NATS and Redis) under a
// raw-batch load, for CPU per million records and a CPU profile. The bench process publishes
// pre-encoded batches (its own cost is not the attributor's); the attributor's CPU is read from
// /proc/<pid>/stat around the measured phase only (start-up, module compile and warm-up excluded).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { encodeToken, KERNEL_RECORD_SIZE, nameHash, packBody, rawBatchHeaders, RpcReply, STREAMS, subjects } from '@sluice/contracts';
import { doing } from '@sluice/runtime';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { compiledMain, encodeRecord, freePort, REPO_ROOT, scrape, stopService, testServer, waitReady, type RecordSpec, type ServiceProcess } from '@sluice/testkit';
import type { CpuProfile } from './cpu-profile.ts';
import { withSourceFiles } from './profile-sources.ts';
import { cpuSeconds, mainThreadCpuSeconds, peakRssMb } from './proc.ts';
import { RssWatch } from './rss-watch.ts';

import { env as readerEnv } from '../../services/bpf-reader/src/config.ts';
import { serviceNodeArgs } from '../../cli/src/local/services.ts';

/** Records per raw batch: the reader's default READER_BATCH_RECORDS (what a loaded reader cuts), or BENCH_ATTRIBUTOR_BATCH. */
export const BATCH_RECORDS = Number(process.env.BENCH_ATTRIBUTOR_BATCH ?? readerEnv.READER_BATCH_RECORDS.parse(undefined));
const CGROUPS = 200;

export interface LoadRun {
  records: number;
  seconds: number;
  cpuSeconds: number;
  /** Of cpuSeconds, the main thread's (the one a CPU profile samples); the rest is V8's and libuv's helper threads. */
  mainCpuSeconds: number;
  /** The measured phase in V8 monotonic µs (the clock of process.hrtime), to cut a profile to it. */
  fromUs: number;
  toUs: number;
  /** Resident memory over the measured phase (VmRSS sampled every 100 ms), and the process's peak (VmHWM), MiB. */
  rssMeanMb: number;
  rssPeakMb: number;
  profile?: CpuProfile;
}

/**
 * Batch bodies: 95% of records from registered cgroups, 1 in 8 a DNS answer, half the connects to
 * a name their cgroup resolved. Timestamps are boot-clock-like (a few ns); each batch's wall offset
 * (set when it is published) makes them "now", after the registrations.
 */
function bodies(baseCg: number, count: number): Uint8Array[] {
  const qname = (cg: number) => `api-${cg % 50}.bench.example.test`;
  const hashes = Array.from({ length: 50 }, (_, k) => nameHash(qname(k)));
  return Array.from({ length: count }, (_, b) => {
    const body = new Uint8Array(BATCH_RECORDS * KERNEL_RECORD_SIZE);
    for (let i = 0; i < BATCH_RECORDS; i++) {
      const cg = i % 20 === 0 ? baseCg + 999_999 : baseCg + ((b * 7 + i) % CGROUPS);
      const dns = i % 8 === 0;
      const spec: RecordSpec = {
        kind: dns ? 'dns' : 'connect',
        cgroupId: BigInt(cg),
        tsNs: BigInt(1 + i),
        verdict: ((i % 3) + 1) as 1 | 2 | 3,
        qname: qname(cg),
        domainHash: dns || i % 2 === 1 ? hashes[cg % 50] : 0n,
      };
      encodeRecord(spec, body, i * KERNEL_RECORD_SIZE);
    }
    return packBody(body, KERNEL_RECORD_SIZE); // as the reader publishes them
  });
}

export class AttributorUnderLoad {
  readonly run = Math.random().toString(36).slice(2, 8);
  readonly node = `attr-bench-${this.run}`;
  readonly bootId = crypto.randomUUID();
  private seq = 1;
  private readonly baseCg = 500_000 + Math.floor(Math.random() * 1000) * 10_000;
  private readonly batches: Uint8Array[];
  private readonly projects: string[];

  /**
   * The 200 cgroups are registered as agents.length × projects (cgroup i: agent i mod `agents`,
   * project i mod `projects`): 50 × 7 gives 200 distinct workloads, each its own subjects, so a
   * 1024-record batch fans out to ~530 messages; fewer workloads, fewer and bigger messages.
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly workloads: { agents: number; projects: number } = { agents: 50, projects: 7 },
  ) {
    this.projects = Array.from({ length: workloads.projects }, (_, k) => `bench ${this.run} ${k} ✓`);
    this.batches = bodies(this.baseCg, 16);
  }

  /**
   * Start one attributor (profiled when `profileDir` is given), load it, stop it. `srcDir`: another
   * copy of services/attributor/src (a baseline, for a side-by-side run); default the current one.
   * `nodeArgs`: node's flags for the service (default: the ones it is launched with, serviceNodeArgs).
   */
  async measure(
    records: number,
    warmup: number,
    profileDir?: string,
    srcDir = join(REPO_ROOT, 'services', 'attributor', 'src'),
    nodeArgs = serviceNodeArgs('attributor'),
  ): Promise<LoadRun> {
    const port = await freePort();
    const durable = `attr-bench-${this.run}${profileDir ? '-prof' : ''}`;
    const runtimeDir = mkdtempSync(join(tmpdir(), 'attr-bench-rt-'));
    const proc = startAttributor(srcDir, {
      NATS_URL: testServer('NATS_URL'),
      REDIS_URL: testServer('REDIS_URL'),
      // No Docker: records are attributed by registration, the Docker watch retries in the background.
      DOCKER_SOCKET: join(runtimeDir, 'no-docker.sock'),
      SLUICE_RUNTIME_DIR: runtimeDir,
      NODE_NAME: this.node,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
      RAW_FILTER: subjects.raw(this.node),
      CONSUMER_NAME: durable,
      REDIS_PREFIX: `sluice-bench:${this.run}`,
    }, [...nodeArgs, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]);
    try {
      await waitReady(proc, port, 'attributor');
      await this.register();
      const pid = proc.child.pid!;
      const warmed = await this.load(durable, warmup); // JIT, the name table, the first resolver misses
      const rss = new RssWatch({ attributor: pid });
      const cpu0 = cpuSeconds(pid);
      const main0 = mainThreadCpuSeconds(pid);
      const t0 = process.hrtime.bigint();
      rss.start(100);
      const published = await this.load(durable, records);
      const t1 = process.hrtime.bigint();
      const cpu1 = cpuSeconds(pid);
      const main1 = mainThreadCpuSeconds(pid);
      const rssMeanMb = rss.stop().attributor?.mean ?? NaN;
      const rssPeakMb = peakRssMb(pid);
      const handled = await totalAttributed(port);
      if (handled !== warmed + published) throw new Error(`the attributor enriched ${handled} records, ${warmed + published} were published`);
      const run: LoadRun = {
        records: published,
        seconds: Number(t1 - t0) / 1e9,
        cpuSeconds: cpu1 - cpu0,
        mainCpuSeconds: main1 - main0,
        fromUs: Number(t0 / 1000n),
        toUs: Number(t1 / 1000n),
        rssMeanMb,
        rssPeakMb,
      };
      const stopped = await stopService(proc, 15_000);
      if (stopped.killed) throw new Error('the attributor did not stop on SIGTERM');
      if (profileDir) {
        // CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile: thread 0 is the main one (tsx's loader runs in another).
        const f = readdirSync(profileDir).find((n) => n.includes(`.${pid}.0.`) && n.endsWith('.cpuprofile'));
        if (!f) throw new Error(`no main-thread .cpuprofile of pid ${pid} in ${profileDir} after the attributor stopped`);
        run.profile = withSourceFiles(JSON.parse(readFileSync(join(profileDir, f), 'utf8')) as CpuProfile);
      }
      return run;
    } catch (err) {
      throw new Error(`${(err as Error).message}\nattributor stderr: ${proc.stderr().slice(-2000)}`);
    } finally {
      await stopService(proc, 15_000);
      rmSync(runtimeDir, { recursive: true, force: true });
      // Clean-up must not replace the run's own error with its own (a JetStream timeout here once
      // left a failed area saying only "timeout"): it says what failed, and the run's error stands.
      try {
        const jsm = await doing('JetStream manager for clean-up', jetstreamManager(this.nc));
        await jsm.consumers.delete(STREAMS.raw.name, durable).catch(() => undefined);
        // A later run's durable starts from the stream's first message: it must not find these.
        await this.purge();
      } catch (err) {
        process.stderr.write(`attributor bench: clean-up after the run failed: ${(err as Error).message}\n`);
      }
    }
  }

  private async register(): Promise<void> {
    for (let i = 0; i < CGROUPS; i++) {
      const body = { node: this.node, cgroup_id: String(this.baseCg + i), agent: `agent.${i % this.workloads.agents} ✓`, project: this.projects[i % this.workloads.projects] };
      const r = RpcReply.parse((await doing(`register cgroup ${body.cgroup_id}`, this.nc.request(subjects.api('identity', 'register'), JSON.stringify(body), { timeout: 5000 }))).json());
      if (!r.ok) throw new Error(`register cgroup ${body.cgroup_id}: ${r.error.message}`);
    }
  }

  /** Publish `records` (rounded up to whole batches) and wait until the attributor acked every one; returns how many. */
  private async load(durable: string, records: number): Promise<number> {
    const js = jetstream(this.nc);
    const n = Math.ceil(records / BATCH_RECORDS);
    const inflight = new Set<Promise<unknown>>();
    for (let b = 0; b < n; b++) {
      const h = natsHeaders();
      const meta = { node: this.node, bootId: this.bootId, firstSeq: this.seq, wallOffsetNs: BigInt(Date.now()) * 1_000_000n, count: BATCH_RECORDS };
      this.seq += BATCH_RECORDS;
      for (const [k, v] of rawBatchHeaders(meta, 'packed')) h.set(k, v);
      const p = js.publish(subjects.raw(this.node), this.batches[b % this.batches.length]!, { headers: h, msgID: h.get('Nats-Msg-Id') });
      inflight.add(p);
      // A failed publish stays in the set: the race or the final wait throws it.
      p.then(() => inflight.delete(p), () => undefined);
      if (inflight.size >= 32) await doing('publishing raw batches', Promise.race(inflight));
    }
    await doing(`publishing ${n} raw batches`, Promise.all(inflight));
    const jsm = await doing('JetStream manager', jetstreamManager(this.nc));
    for (;;) {
      const ci = await doing(`info of consumer ${STREAMS.raw.name}/${durable}`, jsm.consumers.info(STREAMS.raw.name, durable));
      if (ci.num_pending === 0 && ci.num_ack_pending === 0) return n * BATCH_RECORDS;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** What the run left in the streams: its raw batches and its events (unknown ones under `%`). */
  async purge(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await jsm.streams.purge(STREAMS.raw.name, { filter: subjects.raw(this.node) }).catch(() => undefined);
    for (const p of [...this.projects.map(encodeToken), encodeToken('')]) {
      for (const filter of [`sluice.events.${p}.>`, `sluice.dns.${p}.>`]) await jsm.streams.purge(STREAMS.events.name, { filter }).catch(() => undefined);
    }
  }
}

/**
 * As testkit's startService, for any copy of the attributor's sources (its own node_modules resolve
 * them). The repository's own runs compiled under SLUICE_SERVICES_COMPILED=1 (scripts/bench.sh), as
 * users run it; a baseline copy (BENCH_ATTRIBUTOR_BASE_SRC) has no build and runs through tsx.
 */
function startAttributor(srcDir: string, env: Record<string, string>, nodeArgs: string[]): ServiceProcess {
  const own = resolve(srcDir) === join(REPO_ROOT, 'services', 'attributor', 'src');
  const entry = own && process.env.SLUICE_SERVICES_COMPILED === '1' ? ['--enable-source-maps', compiledMain('attributor')] : ['--import', 'tsx', join(srcDir, 'main.ts')];
  // --cpu-prof is refused in NODE_OPTIONS: it goes on the command line.
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: join(REPO_ROOT, 'services', 'attributor'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, stderr: () => err, stdout: () => out, exited };
}

async function totalAttributed(port: number): Promise<number> {
  const text = await scrape(port);
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('sluice_attributor_records_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}
