// The reader's JavaScript hot path alone, no servers, no lock needed: ReaderCore + Batcher over
// in-memory 64 KiB chunks (a fresh buffer per chunk, as a pipe read gives), batches acknowledged at
// once and their bodies recycled. For A/B of a change to frames/reader/batcher/packing before a
// locked `pnpm bench reader`; not a bench area (its figure leaves out the pipe, NATS and the helper).
//   node --import tsx bench/lib/reader-core-micro.ts    (FORMAT=packed|fixed, RECORDS, POOL=0)
// Prints CPU-s per million records (user and sys apart).
import { encodeRecord } from '@sluice/testkit/unit';
import { Batcher } from '../../services/bpf-reader/src/batcher.ts';
import { DropLedger } from '../../services/bpf-reader/src/drops.ts';
import { CgroupRateLimiter } from '../../services/bpf-reader/src/rate-limit.ts';
import { ReaderCore } from '../../services/bpf-reader/src/reader.ts';

const RECORDS = Number(process.env.RECORDS ?? 8_000_000);
const FORMAT = (process.env.FORMAT ?? 'packed') as 'packed' | 'fixed';
const block = Buffer.alloc(1024 * 256);
for (let i = 0; i < 1024; i++) encodeRecord({ tsNs: BigInt(1e9 + i), pid: 1000 + i, dport: 9 }).copy(block, i * 256);
let seq = 1;
const batcher = new Batcher({ maxRecords: 4000, maxDelayMs: 1e9, encoding: FORMAT }, { take: (n) => ((seq += n), seq - n) }, () => 0n, (b) => {
  core.acks.inFlight(b.mark);
  core.acks.settled(b.mark);
  if (process.env.POOL !== '0') batcher.recycle(b.body);
});
const core = new ReaderCore(new CgroupRateLimiter({ ratePerS: 0, burst: 1, maxCgroups: 1000 }), batcher, new DropLedger(), { handled: () => {}, kernelGenerated: () => {} }, 16_384);
core.streamStarted();
const CH = 65536;
const run = (n: number) => {
  for (let done = 0; done < n; done += CH / 256) {
    const chunk = Buffer.allocUnsafeSlow(CH);
    block.copy(chunk, 0, (done * 256) % block.length, ((done * 256) % block.length) + CH);
    core.push(chunk);
  }
};
run(1_000_000); // warm
const c0 = process.cpuUsage();
run(RECORDS);
const c = process.cpuUsage(c0);
batcher.cut();
process.stdout.write(`${FORMAT} ${process.env.TAG ?? ''} cpu_s_per_million ${((c.user + c.system) / 1e6 / (RECORDS / 1e6)).toFixed(3)} user ${(c.user / 1e6).toFixed(2)} sys ${(c.system / 1e6).toFixed(2)}\n`);
