// Kernel drops across reader restarts, on a private NATS: the real bpf-reader (child process)
// with a stand-in helper that reports kernel counters in-band (the real helper cannot be told
// what its counters say). A reader killed with -9 while the kernel keeps dropping: the next
// reader counts exactly what was lost meanwhile, the drop notices in the store add up to the
// kernel's own counter, and the sink (embedded NDJSON store) files them under overseer.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { DropAccountState, dropAccountKey, DropNotice, KV_BUCKETS, STREAMS, subjects } from '@sluice/contracts';
import { createLogger, ensureKv, ensureStream, jetstreamManager } from '@sluice/runtime';
import { freePort, privateServer, startReader, startService, stopService, waitFor, type PrivateServer, type Reader, type ServiceProcess } from '@sluice/testkit';
import { readNdjsonStore } from '@sluice/store';
import { DropAccount } from './drop-account.ts';
import { COUNTER_SLOT, COUNTER_SLOTS } from './kernel-counters.ts';
import { KIND_COUNTERS, OFF, RECORD_SIZE, RECORD_VERSION } from './layout.ts';

const NODE = `drops-it-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'drops-it-'));
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
let nats: PrivateServer;
let nc: NatsConnection;
let reader: Reader | undefined;
const readers: Reader[] = [];
const helperOf = new Map<Reader, number>();
let sink: ServiceProcess | undefined;
const notices: DropNotice[] = [];

function countersRecord(values: Partial<Record<keyof typeof COUNTER_SLOT, number>>): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b[OFF.version] = RECORD_VERSION;
  b[OFF.kind] = KIND_COUNTERS;
  for (const [name, v] of Object.entries(values)) b.writeBigUInt64LE(BigInt(v), OFF.body + COUNTER_SLOT[name as keyof typeof COUNTER_SLOT] * 8);
  return b;
}

/** A helper stand-in that reports these counters once, then idles as a helper with nothing new. */
function fakeHelper(name: string, values: Partial<Record<keyof typeof COUNTER_SLOT, number>>): string {
  writeFileSync(join(dir, `${name}.bin`), countersRecord(values));
  const path = join(dir, `${name}.sh`);
  // exec keeps the pid: the file names the process a kill -9 of the reader leaves orphaned.
  // It writes fixed records: `version` says so (the reader asks before it starts a stream).
  writeFileSync(
    path,
    `#!/bin/sh\n[ "$1" = version ] && { echo '{"stream_formats":["fixed"]}'; exit 0; }\n` +
      `echo $$ > ${join(dir, `${name}.pid`)}\ncat ${join(dir, `${name}.bin`)}\nexec sleep 600\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

const env = (helper: string) => ({
  NATS_URL: nats.url,
  NODE_NAME: NODE,
  SLUICE_BPF_BIN: helper,
  READER_STATE_DIR: dir,
  READER_DROPS_INTERVAL_MS: '200',
});

async function account(): Promise<DropAccountState | undefined> {
  const kv = await ensureKv(nc, KV_BUCKETS.dropAccounts.name, KV_BUCKETS.dropAccounts.history);
  const e = await kv.get(dropAccountKey(NODE));
  return e ? DropAccountState.parse(e.json()) : undefined;
}

async function launch(helper: string): Promise<Reader> {
  const r = await startReader(env(helper));
  readers.push(r);
  const pidFile = helper.replace(/\.sh$/, '.pid');
  helperOf.set(r, await waitFor('helper pid', async () => Number(readFileSync(pidFile, 'utf8').trim()) || undefined));
  return r;
}

/** SIGKILL the reader and the helper it leaves orphaned (a stopped reader stops its own). */
function kill9(r: Reader): void {
  r.proc.child.kill('SIGKILL');
  process.kill(helperOf.get(r)!, 'SIGKILL');
}

beforeAll(async () => {
  nats = await privateServer('nats');
  nc = await connect({ servers: nats.url });
  await ensureStream(await jetstreamManager(nc), STREAMS.control, createLogger('drops-it', 'silent'));
  await follow();
}, 120_000);

afterAll(async () => {
  for (const r of readers) if (r.proc.child.exitCode === null && r.proc.child.signalCode === null) await r.stop();
  if (sink) await stopService(sink, 8000);
  await nc?.close();
  await nats?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function follow(): Promise<void> {
  const c = await jetstream(nc).consumers.get(STREAMS.control.name, { filter_subjects: subjects.audit('drop_notice'), deliver_policy: DeliverPolicy.All });
  const iter = await c.consume();
  void (async () => {
    for await (const m of iter) notices.push(DropNotice.parse(m.json()));
  })();
}

describe('kernel drops across reader restarts (real reader, private NATS)', () => {
  it('counts what the kernel lost while no reader ran, exactly, in counters and in notices', async () => {
    reader = await launch(fakeHelper('first', { generated: 10_000, ringbuf_full: 1025 }));
    // A boot this bucket never saw: everything since boot counts.
    await waitFor('first account', async () => ((await account())?.kernel[COUNTER_SLOT.ringbuf_full] === 1025 ? true : undefined));
    expect(await reader.value('sluice_events_dropped_total', { stage: 'kernel', reason: 'ringbuf_full' })).toBe(1025);
    await waitFor('first notice acknowledged', async () => ((await account())?.pending.length === 0 && notices.length === 1 ? true : undefined));
    kill9(reader);
    await reader.proc.exited;

    // The kernel dropped 266,738 more while no reader ran.
    reader = await launch(fakeHelper('second', { generated: 20_000, ringbuf_full: 1025 + 266_738 }));
    await waitFor('second account', async () => ((await account())?.kernel[COUNTER_SLOT.ringbuf_full] === 267_763 ? true : undefined));
    expect(await reader.value('sluice_events_dropped_total', { stage: 'kernel', reason: 'ringbuf_full' })).toBe(266_738);
    expect(await reader.value('sluice_events_total', { stage: 'kernel' })).toBe(10_000);
    await waitFor('second notice', async () => (notices.length === 2 ? true : undefined));
    expect(notices.map((n) => [n.detail.count, n.detail.total, n.detail.round])).toEqual([
      [1025, 1025, 1],
      [266_738, 267_763, 2],
    ]);
    expect(notices[1]!.detail.interval_start).toBe(notices[0]!.detail.interval_end);
    expect(notices.reduce((s, n) => s + n.detail.count, 0)).toBe(1025 + 266_738);
    expect((await account())!.totals).toEqual({ 'kernel/ringbuf_full': 267_763 });
    const stopped = await reader.stop();
    reader = undefined;
    expect(stopped.code).toBe(0);
  });

  it('re-publishes notices a reader wrote ahead but died before JetStream had them, as the same documents', async () => {
    const kv = await ensureKv(nc, KV_BUCKETS.dropAccounts.name, KV_BUCKETS.dropAccounts.history);
    const state = (await account())!;
    // What a reader killed between its write-ahead and its publish leaves behind.
    const a = new DropAccount(NODE, bootId, state, new Date(0));
    const ahead = a.round([{ stage: 'reader', reason: 'publish', count: 17 }], state.kernel, new Date())!;
    await kv.put(dropAccountKey(NODE), JSON.stringify(ahead));
    const id = ahead.pending[0]!.id;
    reader = await launch(fakeHelper('third', { generated: 20_000, ringbuf_full: 267_763 }));
    await waitFor('pending published', async () => (notices.some((n) => n.id === id) && (await account())?.pending.length === 0 ? true : undefined));
    expect(notices.filter((n) => n.id === id)).toHaveLength(1);
    expect((await account())!.totals).toEqual({ 'kernel/ringbuf_full': 267_763, 'reader/publish': 17 });
    // No kernel drop counted twice: the baseline moved with the write-ahead.
    expect(await reader.value('sluice_events_dropped_total', { stage: 'kernel', reason: 'ringbuf_full' })).toBe(0);
  });

  it('the sink files every notice under overseer, once, with its node as the host', async () => {
    expect(notices).toHaveLength(3);
    const data = join(dir, 'sink');
    const port = await freePort();
    sink = startService('sink', {
      NATS_URL: nats.url,
      OPENSEARCH_URL: '',
      SINK_DATA_DIR: data,
      METRICS_PORT: String(port),
      NODE_NAME: 'sink-drops-it',
      LOG_LEVEL: 'info',
      SINK_LIFECYCLE_INTERVAL: '1h',
    });
    const docs = await waitFor(
      'notices in the store',
      async () => {
        const out = [];
        for await (const d of readNdjsonStore(data, { sources: ['overseer'] })) out.push(d);
        return out.length >= notices.length ? out : undefined;
      },
      90_000,
    );
    expect(docs.map((d) => d.attributes.id).sort()).toEqual(notices.map((n) => n.id).sort());
    for (const d of docs) {
      expect(d.resource.attributes.host?.name).toBe(NODE);
      expect(d.body).toMatch(/^AUDIT drop_notice by bpf-reader: \d+ records lost at stage /);
    }
  });
});
