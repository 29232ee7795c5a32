// bpf-reader throughput on the real kernel and real NATS (root):
//   reader.events_per_s          kernel → JetStream records/s (two connect-loop producers, the
//                                reader as a service process, acknowledged publishes)
//   reader.drops                 records lost in that run (kernel ring full + reader); the goal is 0
//   reader.ceiling_per_s         the same producers with `sluice-bpf stream > /dev/null`
//   reader.ceiling_ratio         events_per_s / ceiling_per_s, same run
//   reader.cpu_s_per_million     reader process CPU seconds per million records published
//   reader.rss_mb                reader resident memory after the run
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger } from '@sluice/runtime';
import { HELPER, probe, sleep, until, type ProbeCounts } from '../test/kernel/exec.ts';
import { Sandbox } from '../test/kernel/sandbox.ts';
import { purgeRaw } from '../services/bpf-reader/src/testing/raw-stream.ts';
import { startReader } from '../services/bpf-reader/src/testing/reader-process.ts';

const LOOP_MS = 3000;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function producers(sb: Sandbox): Promise<number> {
  const cgs = [sb.cgroup('p1'), sb.cgroup('p2')];
  const res = await Promise.all(cgs.map((c) => probe<ProbeCounts>(c.path, 'loop', '127.0.0.2', 9, LOOP_MS)));
  return res.reduce((n, [c]) => n + c!.total, 0);
}

export async function run(): Promise<Record<string, number>> {
  const sb = new Sandbox('bench-reader');
  const state = mkdtempSync(join(tmpdir(), 'reader-bench-'));
  const node = `reader-bench-${process.pid}`;
  const nc = await connectNats(NATS_URL, 'bench-reader', createLogger('bench-reader', 'silent'));
  await sb.setup();
  try {
    // Ceiling: the helper alone, output thrown away.
    const devnull = openSync('/dev/null', 'w');
    const helper = spawn(HELPER, ['--pin', sb.pin, 'stream', '--counters-ms', '0'], { stdio: ['ignore', devnull, 'inherit'] });
    await sleep(200);
    const s0 = (await sb.stats()).counters;
    await producers(sb);
    const s1 = (await sb.stats()).counters;
    helper.kill('SIGTERM');
    await new Promise((r) => helper.on('close', r));
    const ceiling = (s1.generated! - s0.generated! - (s1.drop_ringbuf_full! - s0.drop_ringbuf_full!)) / (LOOP_MS / 1000);

    const reader = await startReader({
      NATS_URL,
      NODE_NAME: node,
      SLUICE_BPF_PIN: sb.pin,
      SLUICE_BPF_COUNTERS_MS: '200',
      READER_STATE_DIR: state,
      READER_RATE_PER_S: '0',
    });
    await until(() => reader.helperPid(), 10_000, 'the helper');
    await sleep(300);
    const pid = reader.proc.child.pid!;
    const k0 = (await sb.stats()).counters;
    const pub0 = await reader.value('sluice_reader_published_records_total');
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    await producers(sb);
    // Until everything generated has been published: time of the last change counts.
    let last = -1;
    let lastChange = Date.now();
    let stable = 0;
    while (stable < 5) {
      const pub = await reader.value('sluice_reader_published_records_total');
      if (pub !== last) {
        last = pub;
        lastChange = Date.now();
        stable = 0;
      } else stable++;
      await sleep(100);
    }
    const k1 = (await sb.stats()).counters;
    const cpu1 = cpuSeconds(pid);
    const published = last - pub0;
    const kernelDrops = k1.drop_ringbuf_full! - k0.drop_ringbuf_full!;
    const readerDrops = await reader.value('sluice_events_dropped_total', { stage: 'reader' });
    const rss = rssMb(pid);
    const rate = published / ((lastChange - t0) / 1000);
    await reader.stop();
    await purgeRaw(nc, node);
    return {
      'reader.events_per_s': Math.round(rate),
      'reader.drops': kernelDrops + readerDrops,
      'reader.generated': k1.generated! - k0.generated!,
      'reader.ceiling_per_s': Math.round(ceiling),
      'reader.ceiling_ratio': rate / ceiling,
      'reader.cpu_s_per_million': (cpu1 - cpu0) / (published / 1e6),
      'reader.rss_mb': Math.round(rss),
    };
  } finally {
    await nc.close();
    await sb.teardown();
    rmSync(state, { recursive: true, force: true });
  }
}
