// The reader on the real kernel and real NATS: a probe process in a test cgroup makes connects
// the default policy denies (EPERM, one DENIED record each); the reader runs as a real service
// process supervising the real helper; what lands in JetStream is read back and counted.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateServer, type PrivateServer, purgeRaw, type Reader, readRaw, startReader } from '@sluice/testkit';
import { probe, sleep, until, type ProbeCounts } from '../../../test/kernel/exec.ts';
import { Sandbox, type Cgroup } from '../../../test/kernel/sandbox.ts';
import { OFF } from './layout.ts';

// A private NATS: the restart test stops and starts it, which must never disturb other tests'
// server, and must work whoever started the shared one.
let natsServer: PrivateServer;
let NATS_URL = '';
const NODE = `reader-ktest-${process.pid}`;
const sb = new Sandbox('reader');
const state = mkdtempSync(join(tmpdir(), 'reader-state-'));
let nc: NatsConnection;
let agent: Cgroup;
let reader: Reader;
const READER_ENV = () => ({
  NATS_URL,
  NODE_NAME: NODE,
  SLUICE_BPF_PIN: sb.pin,
  SLUICE_BPF_COUNTERS_MS: '100',
  READER_STATE_DIR: state,
  READER_RATE_PER_S: '0',
  READER_BACKOFF_MIN_MS: '300',
  READER_HEALTH_REPEAT_MS: '200',
  READER_PUBLISH_TIMEOUT_MS: '1500',
});

/** Records in JetStream for the agent cgroup (SUPPRESSED summaries and other cgroups left out). */
async function delivered() {
  const { records } = await readRaw(nc, NODE);
  const mine = records.filter((r) => r.rec.readBigUInt64LE(OFF.cgroupId) === agent.id && r.rec[OFF.kind] === 1);
  return { all: records, mine, ids: new Set(mine.map((r) => r.id)) };
}

async function readerDrops(): Promise<number> {
  return reader.value('sluice_events_dropped_total', { stage: 'reader' });
}

async function kernelDrops(): Promise<number> {
  return reader.value('sluice_events_dropped_total', { stage: 'kernel' });
}

/** The helper stream format the reader's start-up log names (its log is written asynchronously: waited for). */
async function streamFormatLogged(): Promise<string> {
  return until(() => /"stream":"(\w+)"[^\n]*helper stream format/.exec(reader.proc.stderr())?.[1], 5000, 'the helper stream format in the log');
}

/** Waits until the reader has handled everything the kernel reported generating. */
async function quiesce(generatedAtLeast: number): Promise<void> {
  await until(async () => {
    const m = await reader.metrics();
    const gen = Number(/sluice_kernel_counter\{[^}]*counter="generated"[^}]*\} (\d+)/.exec(m)?.[1] ?? 0);
    return gen >= generatedAtLeast;
  }, 20_000, 'kernel counters to reach the generated count').catch(async (err: unknown) => {
    console.log((await reader.metrics()).split('\n').filter((l) => /^sluice_(events|reader|kernel)/.test(l)).join('\n'));
    throw err;
  });
  // Settled: nothing queued and the published count unchanged across several batch periods.
  let last = -1;
  let stable = 0;
  await until(async () => {
    const q = await reader.value('sluice_reader_queue_records');
    const pub = await reader.value('sluice_reader_published_records_total');
    stable = q === 0 && pub === last ? stable + 1 : 0;
    last = pub;
    await sleep(100);
    return stable >= 3;
  }, 30_000, 'the reader to finish publishing');
}

beforeAll(async () => {
  // Default ring (4 MiB, 16k records): a 2000-connect burst fits; a connect loop at ~200k/s
  // overflows it while the helper is down, so kernel drops are really exercised.
  natsServer = await privateServer('nats');
  NATS_URL = natsServer.url;
  await sb.setup();
  agent = sb.cgroup('agent'); // no policy assigned: the default policy denies everything
  nc = await connect({ servers: NATS_URL });
  await purgeRaw(nc, NODE);
  reader = await startReader(READER_ENV());
  await until(() => reader.helperPid(), 10_000, 'the helper to start');
});

afterAll(async () => {
  const log = reader?.proc.stderr() ?? '';
  console.log(log.split('\n').filter((l) => /"level":(40|50|60)|sluice-bpf/.test(l)).slice(-30).join('\n'));
  const stopped = await reader?.stop();
  await purgeRaw(nc, NODE);
  await nc?.close();
  await sb.teardown();
  rmSync(state, { recursive: true, force: true });
  await natsServer?.destroy();
  expect(stopped?.killed).toBe(false);
});

describe('bpf-reader on the real kernel', () => {
  it('N connects from a test cgroup produce exactly N records in JetStream', async () => {
    // The helper of this build streams packed records, and the reader asks for them.
    expect(await streamFormatLogged()).toBe('packed');
    const N = 2000;
    const [counts] = await probe<ProbeCounts>(agent.path, 'burst', '127.0.0.2', 9, N);
    expect(counts!.outcomes).toEqual({ EPERM: N });
    await quiesce((await sb.stats()).counters.generated!);
    const d = await delivered();
    expect(d.mine).toHaveLength(N);
    expect(d.ids.size).toBe(N);
    expect(await readerDrops()).toBe(0);
    expect(await kernelDrops()).toBe(0);
  });

  it('kill -9 of the helper: restarted, EPERM meanwhile, delivered + counted drops == generated', async () => {
    const before = (await delivered()).mine.length;
    const dropsBefore = (await readerDrops()) + (await kernelDrops());
    const health: string[] = [];
    const sub = nc.subscribe('sluice.health.bpf-reader', { callback: (_e, m) => void health.push(m.string()) });
    const first = reader.helperPid()!;
    const genBefore = (await sb.stats()).counters.generated!;
    const loop = probe<ProbeCounts>(agent.path, 'loop', '127.0.0.2', 9, 2500);
    await sleep(500);
    process.kill(first, 'SIGKILL');
    const [counts] = await loop;
    // Enforcement lives in the kernel: every attempt was refused, helper or not.
    expect(counts!.outcomes).toEqual({ EPERM: counts!.total });
    const second = await until(() => {
      const p = reader.helperPid();
      return p !== undefined && p !== first ? p : undefined;
    }, 10_000, 'a new helper');
    expect(second).not.toBe(first);
    expect(await reader.value('sluice_reader_helper_restarts_total')).toBeGreaterThanOrEqual(1);
    expect(health.some((h) => JSON.parse(h).code === 'egress_reader_unavailable')).toBe(true);
    sub.unsubscribe();

    const genAfter = (await sb.stats()).counters.generated!;
    await quiesce(genAfter);
    const d = await delivered();
    const drops = (await readerDrops()) + (await kernelDrops()) - dropsBefore;
    const got = d.mine.length - before;
    const m = await reader.metrics();
    console.log(`kill -9: generated ${counts!.total} (kernel: ${genAfter - genBefore}), delivered ${got}, counted drops ${drops}, in stream ${d.all.length}`);
    console.log(m.split('\n').filter((l) => /^sluice_(events_dropped|reader_malformed|reader_redelivered)/.test(l)).join('\n'));
    // The same kernel record twice (same time, cgroup, socket) would be a re-delivery, not a new event.
    const content = new Set(d.mine.map((r) => r.rec.subarray(16, 48).toString('hex')));
    console.log(`distinct kernel records ${content.size} of ${d.mine.length}`);
    expect(content.size).toBe(d.mine.length);
    expect(got + drops).toBe(counts!.total);
    expect(d.ids.size).toBe(d.mine.length);
  });

  it('kill -9 of the reader mid-stream: every record the kernel generated is delivered once or counted', async () => {
    // The records the helper had written into the dead reader's pipe were never acknowledged, so
    // the helper never released them from the ring: the next helper streams them again, and the
    // new reader drops those JetStream already holds (seeded from SLUICE_RAW's tail).
    const before = await delivered();
    const k0 = (await sb.stats()).counters;
    const oldReader = reader;
    const oldHelper = oldReader.helperPid()!;
    const published0 = await oldReader.value('sluice_reader_published_records_total');
    const loop = probe<ProbeCounts>(agent.path, 'loop', '127.0.0.2', 9, 3000);
    // Mid-stream: the reader has published some of the loop's records and has more in hand.
    await until(async () => ((await oldReader.value('sluice_reader_published_records_total')) > published0 + 20_000 ? true : undefined), 10_000, 'the reader to be publishing the loop');
    process.kill(oldReader.proc.child.pid!, 'SIGKILL');
    await new Promise((r) => (oldReader.proc.child.exitCode !== null || oldReader.proc.child.signalCode !== null ? r(null) : oldReader.proc.child.once('exit', r)));
    // The orphaned helper learns from its closed stdin that its consumer is gone, and leaves the ring as it is.
    await until(() => (existsSync(`/proc/${oldHelper}`) ? undefined : true), 5000, 'the orphaned helper to exit');
    reader = await startReader(READER_ENV());
    const [counts] = await loop;
    expect(counts!.outcomes).toEqual({ EPERM: counts!.total });
    const k1 = (await sb.stats()).counters;
    await quiesce(k1.generated!);
    const after = await delivered();
    const generated = k1.generated! - k0.generated!;
    const ringFull = k1.drop_ringbuf_full! - k0.drop_ringbuf_full!;
    const got = after.mine.length - before.mine.length;
    const lostInReader = await readerDrops(); // a fresh process: its drops are this test's
    const log = reader.proc.stderr();
    const seeded = Number(/"records":(\d+)[^\n]*redelivery filter seeded/.exec(log)?.[1] ?? -1);
    const redelivered = await reader.value('sluice_reader_redelivered_total');
    console.log(
      `reader kill -9: probe ${counts!.total}, kernel generated ${generated}, ring full ${ringFull}, delivered ${got}, reader drops ${lostInReader}, ` +
        `seeded ${seeded}, re-deliveries filtered ${redelivered}`,
    );
    // Every kernel record of the run is in JetStream exactly once, or counted by the kernel.
    const content = new Set(after.mine.map((r) => r.rec.toString('latin1')));
    expect(content.size).toBe(after.mine.length);
    expect(after.ids.size).toBe(after.mine.length);
    expect(lostInReader).toBe(0);
    expect(got + ringFull).toBe(generated);
    expect(generated).toBe(counts!.total);
    expect(seeded).toBeGreaterThan(0);
  });

  it('a NATS restart mid-stream: what the ring holds is delivered, its overflow counted, nothing duplicated', async () => {
    const before = await delivered();
    const dropsBefore = (await readerDrops()) + (await kernelDrops());
    // ~40k records over ~3 s. Unpublished records stay in the kernel ring (nothing is released
    // before JetStream has it), so while NATS is away the ring is the buffer: what overflows it
    // the kernel counts (ringbuf_full).
    let generated = 0;
    const bursts = (async () => {
      for (let i = 0; i < 16; i++) {
        const [c] = await probe<ProbeCounts>(agent.path, 'burst', '127.0.0.2', 9, 2500);
        generated += c!.total;
        await sleep(150);
      }
    })();
    await sleep(600);
    const failuresBefore = await reader.value('sluice_reader_publish_failures_total');
    try {
      await natsServer.down();
      await sleep(1500);
    } finally {
      await natsServer.up();
    }
    await bursts;
    await quiesce((await sb.stats()).counters.generated!);
    const after = await delivered();
    const got = after.mine.length - before.mine.length;
    const drops = (await readerDrops()) + (await kernelDrops()) - dropsBefore;
    console.log(`nats restart: generated ${generated}, delivered ${got}, drops ${drops}, publish failures ${(await reader.value('sluice_reader_publish_failures_total')) - failuresBefore}`);
    expect(await reader.value('sluice_reader_publish_failures_total')).toBeGreaterThan(failuresBefore); // NATS really was away
    expect(got + drops).toBe(generated);
    // Retried batches carried their original Nats-Msg-Id: no record is in the stream twice.
    expect(after.ids.size).toBe(after.mine.length);
  });

  it('the fixed stream (what a helper from before --packed writes) delivers exactly the same', async () => {
    const before = (await delivered()).mine.length;
    await reader.stop();
    reader = await startReader({ ...READER_ENV(), READER_STREAM_FORMAT: 'fixed' });
    await until(() => reader.helperPid(), 10_000, 'the helper to start');
    expect(await streamFormatLogged()).toBe('fixed');
    const N = 2000;
    const [counts] = await probe<ProbeCounts>(agent.path, 'burst', '127.0.0.2', 9, N);
    expect(counts!.outcomes).toEqual({ EPERM: N });
    await quiesce((await sb.stats()).counters.generated!);
    const d = await delivered();
    expect(d.mine.length - before).toBe(N);
    expect(d.ids.size).toBe(d.mine.length);
    expect(await readerDrops()).toBe(0);
  });
});
