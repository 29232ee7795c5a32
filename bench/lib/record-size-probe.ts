// What record size costs the reader (bench/reader.ts, `reader.size_*` figures). Run as its own
// process so its CPU time is the figure: `node --import tsx record-size-probe.ts` with
// NATS_URL, SIZE (bytes per record), RECORDS, NODE. It reads SIZE-byte records from a pipe fed
// by a separate writer process (as the helper feeds the reader) and takes them through the
// reader's own code where that code is size-agnostic: FrameSplitter (header check and stride walk
// at SIZE), RecordRun copies into the re-delivery memory and into 4000-record batches, and
// BatchPublisher + rawPublisher to SLUICE_RAW with JetStream acknowledgement. What it leaves out is
// per record and size-independent (mark keeping, the rate limiter), so the difference between sizes
// is what the bytes cost: pipe reads, two copies, the NATS client's write, JetStream's storage.
// Prints one JSON line: { records, secs, cpu_s } (cpu_s: this process, from first byte to last ack).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, createLogger } from '@sluice/runtime';
import { FrameSplitter } from '../../services/bpf-reader/src/frames.ts';
import { rawPublisher } from '../../services/bpf-reader/src/publish-raw.ts';
import { BatchPublisher } from '../../services/bpf-reader/src/publisher.ts';
import { RecordRun } from '../../services/bpf-reader/src/record-run.ts';
import { encodeRecord } from '@sluice/testkit/unit';

const SIZE = Number(process.env.SIZE);
const RECORDS = Number(process.env.RECORDS);
const BATCH = 4000;
const WINDOW = 16_384;
if (!(SIZE >= 128 && SIZE <= 256 && SIZE % 8 === 0) || !(RECORDS > 0)) throw new Error(`record-size-probe: SIZE ${SIZE} (128..256: the header is 120 bytes; multiple of 8) / RECORDS ${RECORDS} invalid`);

// 1024 distinct records of SIZE bytes: a real header, the rest of the 256-byte record cut off.
const block = Buffer.alloc(1024 * SIZE);
for (let i = 0; i < 1024; i++) encodeRecord({ mark: i, tsNs: BigInt(1e9 + i) }).copy(block, i * SIZE, 0, SIZE);

const nc = await connectNats(process.env.NATS_URL!, 'record-size-probe', createLogger('record-size-probe', 'silent'));
const node = process.env.NODE!;
let acked = 0;
let done: () => void = () => {};
const finished = new Promise<void>((r) => (done = r));
const publisher = new BatchPublisher({ maxQueuedRecords: 1 << 30, maxInflight: 8, retryMinMs: 100, retryMaxMs: 2000 }, rawPublisher(jetstream(nc), node, 'size-probe', 5000), {
  published: (n) => {
    acked += n;
    if (acked >= RECORDS) done();
  },
  dropped: (n) => {
    throw new Error(`record-size-probe: ${n} records dropped`);
  },
  failed: (err) => process.stderr.write(`record-size-probe: publish failed: ${String(err)}\n`),
});

const ring = Buffer.alloc(WINDOW * SIZE);
let ringAt = 0;
let body = Buffer.allocUnsafe(BATCH * SIZE);
let inBody = 0;
let seq = 1;
let mark = 0;
const toRing = (buf: Buffer, off: number, _end: number, n: number) => {
  while (n > 0) {
    const k = Math.min(n, WINDOW - ringAt);
    buf.copy(ring, ringAt * SIZE, off, off + k * SIZE);
    ringAt = (ringAt + k) % WINDOW;
    off += k * SIZE;
    n -= k;
  }
};
const cut = () => {
  if (inBody === 0) return;
  publisher.offer({ firstSeq: seq, count: inBody, body: body.subarray(0, inBody * SIZE), encoding: 'fixed', wallOffsetNs: 0n });
  seq += inBody;
  body = Buffer.allocUnsafe(BATCH * SIZE);
  inBody = 0;
};
const toBatch = (buf: Buffer, off: number, _end: number, n: number) => {
  while (n > 0) {
    const k = Math.min(n, BATCH - inBody);
    buf.copy(body, inBody * SIZE, off, off + k * SIZE);
    inBody += k;
    off += k * SIZE;
    n -= k;
    if (inBody === BATCH) cut();
  }
};
const seen = new RecordRun();
const batched = new RecordRun();
const splitter = new FrameSplitter(SIZE, {
  records: (buf, off, end, n) => {
    const m = mark;
    mark += n;
    seen.extend(buf, off, end, m, toRing, n);
    batched.extend(buf, off, end, m, toBatch, n);
  },
  malformed: () => {
    throw new Error('record-size-probe: malformed bytes in the stream');
  },
  skipped: () => {},
});

// The writer: the same block over and over, with backpressure, in its own process. The block goes
// by file: 1,024 records base64-encoded in the environment exceed one variable's limit (E2BIG).
const blockDir = mkdtempSync(join(tmpdir(), 'record-size-probe-'));
const blockFile = join(blockDir, 'block');
writeFileSync(blockFile, block);
process.on('exit', () => rmSync(blockDir, { recursive: true, force: true }));
const writer = spawn(
  process.execPath,
  [
    '-e',
    `const b=require('fs').readFileSync(process.env.BLOCK_FILE);let left=${RECORDS * SIZE};` +
      `const go=()=>{while(left>0){const c=left>=b.length?b:b.subarray(0,left);left-=c.length;if(!process.stdout.write(c))return process.stdout.once('drain',go);}process.stdout.end();};go();`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { BLOCK_FILE: blockFile } },
);
let cpu0: NodeJS.CpuUsage | undefined;
let t0 = 0;
writer.stdout!.on('data', (chunk: Buffer) => {
  if (!cpu0) {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  }
  splitter.push(chunk);
  seen.flush(toRing);
  batched.flush(toBatch);
});
writer.stdout!.on('end', () => {
  splitter.end();
  cut();
});
await finished;
const cpu = process.cpuUsage(cpu0);
const secs = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ records: acked, secs, cpu_s: (cpu.user + cpu.system) / 1e6 })}\n`);
await nc.close();
process.exit(0);
