// bpf-reader throughput on the real kernel and real NATS (root). The reader is measured apart
// from its producers: the producers' denied sendto costs more CPU than the reader's work on the
// record, and on this 2-core machine they compete with it.
//   reader.cpu_s_per_million       reader process CPU seconds per million records, saturated: the
//                                  helper is stopped (SIGSTOP) while PRODUCERS unpaced producers
//                                  fill the ring with DRAIN_RECORDS records (below its capacity:
//                                  no drops), then resumed; the reader's CPU from then until the
//                                  last record is acknowledged by JetStream, DRAIN_CYCLES times
//                                  after WARM_CYCLES uncounted ones (steady state: a daemon)
//   reader.drain_per_s             records/s the reader drained in those cycles (its capacity here)
//   reader.helper_cpu_s_per_million, reader.nats_cpu_s_per_million   the helper's and nats-server's
//                                  share in the same cycles
//   reader.fixed_cpu_s_per_million, reader.fixed_nats_cpu_s_per_million, reader.fixed_helper_cpu_s_per_million,
//   reader.fixed_drain_per_s      the same cycles, same run, by a reader writing the fixed 256-byte
//                                  body (READER_RAW_FORMAT=fixed) instead of the packed one: what
//                                  dropping each record's trailing zeros saves (run first, its own
//                                  process and warm-up). The packed reader takes the helper's packed
//                                  stream (`stream --packed`), the fixed one its 256-byte records
//   reader.zero_drop_per_s         the highest offered rate (PRODUCERS paced producers, TRIAL_S s,
//                                  64 MiB ring) with zero drops, stepping the rate up by 15 %
//   reader.events_per_s            what was acknowledged by JetStream in that trial, over the time
//                                  from the first send to the last publish (drain included)
//   reader.produced_per_s          what the producers managed to offer in that trial
//   reader.over_offered_per_s, reader.over_drops   the next step: its offered rate and records lost
//                                  (0 drops there means the producers, not the reader, ran out)
//   reader.loaded_cpu_s_per_million, reader.producer_cpu_s_per_million, reader.other_load_cores
//                                  reader and producer CPU per million in the zero-drop trial, and
//                                  the cores everything else on the machine used meanwhile
//   reader.ceiling_per_s           the same producers, unpaced, with `sluice-bpf stream > /dev/null`
//   reader.size_<S>_cpu_s_per_million, reader.size_<S>_nats_cpu_s_per_million   what a S-byte
//                                  record costs the reader's path and nats-server
//                                  (lib/record-size-probe.ts), S = 256 (today), 192, 128 (a
//                                  record without the 136-byte body union: what non-DNS kinds use)
//   reader.rss_mb, reader.peak_rss_mb   reader resident memory after the trials / at its peak
// Knobs: BENCH_READER_TRIAL_S (default 3), BENCH_READER_START (first offered rate, default 200000),
// BENCH_READER_CPU_PROF (a directory: V8 CPU profile of the reader, written when it stops),
// BENCH_READER_NODE_ARGS (node flags for both readers, e.g. --perf-basic-prof for perf record).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger } from '@sluice/runtime';
import { purgeRaw, type Reader, startReader, testServer } from '@sluice/testkit';
import { HELPER, probe, sleep, until, type ProbeCounts } from '../test/kernel/exec.ts';
import { Sandbox, type Cgroup } from '../test/kernel/sandbox.ts';
import { cpuSeconds, machineBusySeconds, peakRssMb, reapedChildrenCpuSeconds, rssMb } from './lib/proc.ts';
import { serverPid } from './lib/servers.ts';

const NATS_URL = testServer('NATS_URL');
const TRIAL_S = Number(process.env.BENCH_READER_TRIAL_S ?? 3);
const START = Number(process.env.BENCH_READER_START ?? 200_000);
const RING = 64 << 20;
const BATCH = 4000;
const PRODUCERS = 4;
/** Below the 64 MiB ring's capacity (264 bytes a record with the ring's header: ~254k). */
const DRAIN_RECORDS = 200_000;
const DRAIN_CYCLES = 5;
// Uncounted saturated cycles first: the reader's CPU per cycle kept falling over the first cycles
// (0.28 → 0.16 CPU-s per 200k records in session 6, JIT and the stream's first blocks), and a
// reader is a daemon, so its steady state is the figure; the 100k-record warm-up trial was too short.
const WARM_CYCLES = Number(process.env.BENCH_READER_WARM_CYCLES ?? 3);
const SIZES = [256, 192, 128];

/** PRODUCERS producers in one default-deny cgroup, `total` denied datagrams at `offered`/s in all (0: unpaced). */
async function produce(cg: Cgroup, total: number, offered: number): Promise<void> {
  const n = Math.round(total / PRODUCERS);
  const res = await Promise.all(
    Array.from({ length: PRODUCERS }, (_, i) => probe<ProbeCounts>(cg.path, 'sendburst', `127.0.0.${9 + i}`, 9, n, Math.round(offered / PRODUCERS))),
  );
  if (res.some(([r]) => r!.outcomes.EPERM !== n)) throw new Error(`producers were not denied every time: ${JSON.stringify(res)}`);
}

/** Helper alone, output thrown away: what the kernel + helper deliver when nothing downstream costs. */
async function ceiling(sb: Sandbox, cg: Cgroup): Promise<{ rate: number; drops: number }> {
  const devnull = openSync('/dev/null', 'w');
  const helper = spawn(HELPER, ['--pin', sb.pin, 'stream', '--counters-ms', '0'], { stdio: ['ignore', devnull, 'inherit'] });
  closeSync(devnull);
  try {
    await sleep(200);
    const s0 = (await sb.stats()).counters;
    const t0 = performance.now();
    await produce(cg, 1_000_000, 0);
    const secs = (performance.now() - t0) / 1000;
    // Writing to /dev/null costs nothing: what is still in the ring when the producers end is
    // gone within milliseconds, so the producers' time is the delivery time.
    await sleep(200);
    const s1 = (await sb.stats()).counters;
    const drops = s1.drop_ringbuf_full - s0.drop_ringbuf_full;
    return { rate: (s1.generated - s0.generated - drops) / secs, drops };
  } finally {
    helper.kill('SIGTERM');
    await new Promise((r) => (helper.exitCode !== null ? r(null) : helper.on('close', r)));
  }
}

interface Trial {
  offered: number;
  rate: number;
  drops: number;
  published: number;
  readerCpu: number;
  helperCpu: number;
  natsCpu: number;
  producerCpu: number;
  /** CPU seconds the rest of the machine (other work on this shared box) used during the trial. */
  otherCpu: number;
  secs: number;
  /** generated / the producers' own time: what they managed to offer. */
  produced: number;
}

async function trial(sb: Sandbox, cg: Cgroup, reader: Reader, offered: number): Promise<Trial> {
  const pid = reader.proc.child.pid!;
  const helperPid = reader.helperPid();
  if (helperPid === undefined) throw new Error('the reader has no helper running');
  const nats = serverPid('nats');
  const k0 = (await sb.stats()).counters;
  const pub0 = await reader.value('sluice_reader_published_records_total');
  const rd0 = await reader.value('sluice_events_dropped_total', { stage: 'reader' });
  const cpu0 = [cpuSeconds(pid), cpuSeconds(helperPid), nats ? cpuSeconds(nats) : 0, reapedChildrenCpuSeconds(), cpuSeconds(process.pid), machineBusySeconds()];
  const t0 = Date.now();
  await produce(cg, offered * TRIAL_S, offered);
  const producedSecs = (Date.now() - t0) / 1000;
  const k1 = (await sb.stats()).counters;
  const generated = k1.generated - k0.generated;
  const kernelDrops = k1.drop_ringbuf_full - k0.drop_ringbuf_full;
  // Until every generated record is published or counted: the time of the last publish counts.
  let last = -1;
  let lastChange = Date.now();
  for (let still = 0; still < 10; ) {
    const pub = (await reader.value('sluice_reader_published_records_total')) - pub0;
    const rd = (await reader.value('sluice_events_dropped_total', { stage: 'reader' })) - rd0;
    if (pub !== last) {
      last = pub;
      lastChange = Date.now();
      still = 0;
    } else still++;
    if (pub + rd + kernelDrops >= generated) break;
    await sleep(100);
  }
  const cpu1 = [cpuSeconds(pid), cpuSeconds(helperPid), nats ? cpuSeconds(nats) : 0, reapedChildrenCpuSeconds(), cpuSeconds(process.pid), machineBusySeconds()];
  const d = cpu1.map((v, i) => v - cpu0[i]!);
  const readerDrops = (await reader.value('sluice_events_dropped_total', { stage: 'reader' })) - rd0;
  // SUPPRESSED summaries are counted as published too; the rate limit is off, so there are none.
  const t: Trial = {
    offered,
    rate: last / ((lastChange - t0) / 1000),
    drops: kernelDrops + readerDrops,
    published: last,
    readerCpu: d[0]!,
    helperCpu: d[1]!,
    natsCpu: d[2]!,
    producerCpu: d[3]!,
    otherCpu: Math.max(0, d[5]! - d[0]! - d[1]! - d[2]! - d[3]! - d[4]!),
    secs: (lastChange - t0) / 1000,
    produced: generated / producedSecs,
  };
  if (last + t.drops !== generated) throw new Error(`published ${last} + dropped ${t.drops} != generated ${generated}`);
  process.stderr.write(
    `reader bench: offered ${offered}/s → ${Math.round(t.rate)}/s published, ${t.drops} dropped ` +
      `(kernel ${kernelDrops}, reader ${readerDrops}) in ${t.secs.toFixed(1)} s; producers managed ${Math.round(t.produced)}/s; ` +
      `CPU s reader ${t.readerCpu.toFixed(2)} helper ${t.helperCpu.toFixed(2)} nats ${t.natsCpu.toFixed(2)} ` +
      `producers ${t.producerCpu.toFixed(2)} others ${t.otherCpu.toFixed(2)}\n`,
  );
  return t;
}

interface Drain {
  records: number;
  secs: number;
  readerCpu: number;
  helperCpu: number;
  natsCpu: number;
}

/**
 * One saturated cycle: the ring filled while the helper is stopped, then drained. Completion is
 * watched on /proc (the reader's CPU going still), not by scraping its metrics, which would cost
 * it CPU inside the measured span; one scrape afterwards checks that every record was published.
 */
async function drainCycle(sb: Sandbox, cg: Cgroup, reader: Reader): Promise<Drain> {
  const pid = reader.proc.child.pid!;
  const helperPid = reader.helperPid();
  if (helperPid === undefined) throw new Error('the reader has no helper running');
  const nats = serverPid('nats');
  const pub0 = await reader.value('sluice_reader_published_records_total');
  const k0 = (await sb.stats()).counters;
  process.kill(helperPid, 'SIGSTOP');
  try {
    await produce(cg, DRAIN_RECORDS, 0);
  } finally {
    process.kill(helperPid, 'SIGCONT');
  }
  // Measured from the resume; the reader idled (timers only) while the ring filled.
  const cpu0 = [cpuSeconds(pid), cpuSeconds(helperPid), nats ? cpuSeconds(nats) : 0];
  const t0 = performance.now();
  const k1 = (await sb.stats()).counters;
  const generated = k1.generated - k0.generated;
  const drops = k1.drop_ringbuf_full - k0.drop_ringbuf_full;
  if (drops > 0) throw new Error(`drain cycle: ${drops} ring-full drops filling ${generated} records (ring too small?)`);
  for (;;) {
    // Quiet: under 10 % of a core over 300 ms (an idle reader still runs its timers, so its CPU
    // never stands still): the backlog is through, or the reader is starved; the scrape decides.
    const seen: Array<[number, number]> = [[performance.now(), cpuSeconds(pid)]];
    let busyUntil = seen[0]!;
    for (;;) {
      await sleep(10);
      const now: [number, number] = [performance.now(), cpuSeconds(pid)];
      seen.push(now);
      while (seen.length > 1 && now[0] - seen[0]![0] > 300) seen.shift();
      const [t, c] = seen[0]!;
      if (now[1] - c > 0.03) busyUntil = now;
      else if (now[0] - t >= 290) break;
    }
    const last = busyUntil[1];
    const lastAt = busyUntil[0];
    const cpu1 = [last, cpuSeconds(helperPid), nats ? cpuSeconds(nats) : 0];
    const published = (await reader.value('sluice_reader_published_records_total')) - pub0;
    if (published >= generated) {
      const d = cpu1.map((v, j) => v - cpu0[j]!);
      const r: Drain = { records: published, secs: (lastAt - t0) / 1000, readerCpu: d[0]!, helperCpu: d[1]!, natsCpu: d[2]! };
      process.stderr.write(
        `reader bench: drained ${published} records in ${r.secs.toFixed(2)} s (${Math.round(published / r.secs)}/s); ` +
          `CPU s reader ${r.readerCpu.toFixed(2)} helper ${r.helperCpu.toFixed(2)} nats ${r.natsCpu.toFixed(2)}\n`,
      );
      return r;
    }
    if (performance.now() - t0 > 60_000) throw new Error(`drain cycle: ${published} of ${generated} published after 60 s`);
  }
}

/** What SIZE-byte records cost the reader's path (lib/record-size-probe.ts) and nats-server. */
async function sizeCost(nc: Awaited<ReturnType<typeof connectNats>>, size: number, records: number): Promise<{ cpu: number; nats: number; secs: number }> {
  const node = `reader-bench-size-${process.pid}`;
  const nats = serverPid('nats');
  const n0 = nats ? cpuSeconds(nats) : 0;
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib', 'record-size-probe.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NATS_URL, SIZE: String(size), RECORDS: String(records), NODE: node },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const n1 = nats ? cpuSeconds(nats) : 0;
  await purgeRaw(nc, node);
  if (code !== 0) throw new Error(`record-size-probe ${size} exited ${code}: ${out}`);
  const r = JSON.parse(out) as { records: number; secs: number; cpu_s: number };
  if (r.records !== records) throw new Error(`record-size-probe ${size}: ${r.records} of ${records} acknowledged`);
  // nats-server's span includes the probe's start-up and exit (it idles then).
  const res = { cpu: r.cpu_s / (records / 1e6), nats: (n1 - n0) / (records / 1e6), secs: r.secs };
  process.stderr.write(`reader bench: ${size}-byte records: ${Math.round(records / r.secs)}/s, CPU s per million probe ${res.cpu.toFixed(3)} nats ${res.nats.toFixed(3)}\n`);
  return res;
}

interface DrainSum {
  cpu: number;
  helper: number;
  nats: number;
  perS: number;
}

/** DRAIN_CYCLES saturated cycles, each from an empty raw subject: per-million CPU of reader, helper, nats-server. */
async function drains(sb: Sandbox, cg: Cgroup, reader: Reader, nc: Awaited<ReturnType<typeof connectNats>>, node: string): Promise<DrainSum> {
  const ds: Drain[] = [];
  for (let i = 0; i < WARM_CYCLES + DRAIN_CYCLES; i++) {
    const d = await drainCycle(sb, cg, reader);
    await purgeRaw(nc, node);
    process.stderr.write(`reader bench: ${i < WARM_CYCLES ? 'warm-up' : 'measured'} cycle: reader ${((d.readerCpu / d.records) * 1e6).toFixed(2)} CPU-s per million\n`);
    if (i >= WARM_CYCLES) ds.push(d);
  }
  const sum = (k: keyof Drain) => ds.reduce((a, d) => a + d[k], 0);
  const m = sum('records') / 1e6;
  return { cpu: sum('readerCpu') / m, helper: sum('helperCpu') / m, nats: sum('natsCpu') / m, perS: Math.round(sum('records') / sum('secs')) };
}

export async function run(): Promise<Record<string, number>> {
  const sb = new Sandbox('bench-reader');
  const state = mkdtempSync(join(tmpdir(), 'reader-bench-'));
  const node = `reader-bench-${process.pid}`;
  const nc = await connectNats(NATS_URL, 'bench-reader', createLogger('bench-reader', 'silent'));
  let reader: Reader | undefined;
  try {
    await sb.setup({ ringbufSize: RING });
    const cg = sb.cgroup('producer'); // no policy entry: default deny, one record per sendto
    const ceil = await ceiling(sb, cg);
    process.stderr.write(`reader bench: ceiling (helper → /dev/null, unpaced) ${Math.round(ceil.rate)}/s, ${ceil.drops} dropped\n`);

    // LOG_LEVEL stays at info: the metrics port is read from the start-up log.
    const prof = process.env.BENCH_READER_CPU_PROF;
    // e.g. --perf-basic-prof, for `perf record -p <reader pid>` (on-CPU samples, kernel included)
    const nodeArgs = (process.env.BENCH_READER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const start = async (format: 'packed' | 'fixed') => {
      const r = await startReader(
        {
          NATS_URL,
          NODE_NAME: node,
          SLUICE_BPF_PIN: sb.pin,
          SLUICE_BPF_COUNTERS_MS: '200',
          READER_STATE_DIR: state,
          READER_RATE_PER_S: '0',
          READER_BATCH_RECORDS: String(BATCH),
          READER_BATCH_MS: '20',
          READER_PUBLISH_INFLIGHT: '8',
          READER_RAW_FORMAT: format,
        },
        [...(prof && format === 'packed' ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...nodeArgs],
      );
      await until(() => r.helperPid(), 10_000, 'the helper');
      await sleep(300);
      // Warm-up (JIT, the stream's first blocks), not counted.
      await trial(sb, cg, r, 100_000);
      await purgeRaw(nc, node);
      return r;
    };

    // The fixed-format reader first, in its own process: the same cycles, for the side-by-side.
    reader = await start('fixed');
    const fixed = await drains(sb, cg, reader, nc, node);
    process.stderr.write(`reader bench: fixed 256-byte bodies: CPU s per million reader ${fixed.cpu.toFixed(3)} helper ${fixed.helper.toFixed(3)} nats ${fixed.nats.toFixed(3)}\n`);
    await reader.stop();
    reader = undefined;
    reader = await start('packed');
    const packed = await drains(sb, cg, reader, nc, node);
    process.stderr.write(`reader bench: packed bodies: CPU s per million reader ${packed.cpu.toFixed(3)} helper ${packed.helper.toFixed(3)} nats ${packed.nats.toFixed(3)}\n`);

    let over: Trial | undefined;
    let best: Trial | undefined;
    for (let offered = START; offered <= 3_000_000; offered = Math.round(offered * 1.15)) {
      const t = await trial(sb, cg, reader, offered);
      await purgeRaw(nc, node); // the trials' GBs must not pile up in SLUICE_RAW
      if (t.drops > 0) {
        over = t;
        break;
      }
      best = t;
      // The producers cannot offer more on this machine: a higher step measures them, not the reader.
      if (t.produced < 0.8 * offered) {
        over = t;
        break;
      }
    }
    if (!best) throw new Error(`drops already at ${START}/s offered`);

    const sizes: Record<string, number> = {};
    for (const size of SIZES) {
      const c = await sizeCost(nc, size, 1_000_000);
      sizes[`reader.size_${size}_cpu_s_per_million`] = c.cpu;
      sizes[`reader.size_${size}_nats_cpu_s_per_million`] = c.nats;
    }

    const pid = reader.proc.child.pid!;
    const perM = (cpu: number) => cpu / (best.published / 1e6);
    return {
      'reader.cpu_s_per_million': packed.cpu,
      'reader.drain_per_s': packed.perS,
      'reader.helper_cpu_s_per_million': packed.helper,
      'reader.nats_cpu_s_per_million': packed.nats,
      'reader.fixed_cpu_s_per_million': fixed.cpu,
      'reader.fixed_drain_per_s': fixed.perS,
      'reader.fixed_helper_cpu_s_per_million': fixed.helper,
      'reader.fixed_nats_cpu_s_per_million': fixed.nats,
      // What the producers actually offered, if they fell short of the step.
      'reader.zero_drop_per_s': Math.round(Math.min(best.offered, best.produced)),
      'reader.events_per_s': Math.round(best.rate),
      'reader.drops': best.drops,
      'reader.over_offered_per_s': over?.offered ?? 0,
      'reader.over_drops': over?.drops ?? 0,
      'reader.ceiling_per_s': Math.round(ceil.rate),
      'reader.ceiling_ratio': best.rate / ceil.rate,
      'reader.loaded_cpu_s_per_million': perM(best.readerCpu),
      'reader.producer_cpu_s_per_million': perM(best.producerCpu),
      'reader.produced_per_s': Math.round(best.produced),
      'reader.other_load_cores': best.otherCpu / best.secs,
      ...sizes,
      'reader.rss_mb': Math.round(rssMb(pid)),
      'reader.peak_rss_mb': Math.round(peakRssMb(pid)),
    };
  } finally {
    if (reader) await reader.stop();
    await purgeRaw(nc, node);
    await nc.close();
    await sb.teardown();
    rmSync(state, { recursive: true, force: true });
  }
}
