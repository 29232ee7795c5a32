// The reader's JavaScript hot path alone, no servers, no lock needed: ReaderCore + Batcher over
// in-memory 64 KiB chunks (a fresh buffer per chunk, as a pipe read gives), batches acknowledged at
// once and their bodies recycled. For A/B of a change to frames/reader/batcher/packing before a
// locked `pnpm bench reader`; not a bench area (its figure leaves out the pipe, NATS and the helper).
//   node --import tsx bench/lib/reader-core-micro.ts    (FORMAT=packed|fixed, STREAM=fixed|packed, RECORDS, POOL=0)
// STREAM=packed feeds the helper's packed entries (`stream --packed`), cut into 64 KiB chunks
// wherever they fall (a pipe read does not end on an entry); fixed chunks hold whole records.
// Prints CPU-s per million records (user and sys apart).
import { encodeRecord, packedStreamEntry } from '@sluice/testkit/unit';
import { Batcher } from '../../services/bpf-reader/src/batcher.ts';
import { DropLedger } from '../../services/bpf-reader/src/drops.ts';
import { CgroupRateLimiter } from '../../services/bpf-reader/src/rate-limit.ts';
import { ReaderCore } from '../../services/bpf-reader/src/reader.ts';

const RECORDS = Number(process.env.RECORDS ?? 8_000_000);
const FORMAT = (process.env.FORMAT ?? 'packed') as 'packed' | 'fixed';
const STREAM = (process.env.STREAM ?? 'fixed') as 'packed' | 'fixed';
const recs = Array.from({ length: 1024 }, (_, i) => encodeRecord({ tsNs: BigInt(1e9 + i), pid: 1000 + i, dport: 9 }));
const one = Buffer.concat(STREAM === 'packed' ? recs.map((r) => packedStreamEntry(r)) : recs);
// Long enough that any 64 KiB window of the endless stream is one slice of it.
const block = Buffer.concat([one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one]);
const perRecord = one.length / recs.length;
let seq = 1;
const batcher = new Batcher({ maxRecords: 4000, maxDelayMs: 1e9, encoding: FORMAT }, { take: (n) => ((seq += n), seq - n) }, () => 0n, (b) => {
  core.acks.inFlight(b.mark);
  core.acks.settled(b.mark);
  if (process.env.POOL !== '0') batcher.recycle(b.body);
});
const core = new ReaderCore(new CgroupRateLimiter({ ratePerS: 0, burst: 1, maxCgroups: 1000 }), batcher, new DropLedger(), { handled: () => {}, kernelGenerated: () => {} }, 16_384, STREAM);
core.streamStarted();
const CH = 65536;
let at = 0;
const run = (n: number) => {
  for (let bytes = 0; bytes < n * perRecord; bytes += CH) {
    const chunk = Buffer.allocUnsafeSlow(CH);
    block.copy(chunk, 0, at, at + CH);
    at = (at + CH) % one.length;
    core.push(chunk);
  }
};
run(1_000_000); // warm
const c0 = process.cpuUsage();
run(RECORDS);
const c = process.cpuUsage(c0);
batcher.cut();
if (core.stats.skippedBytes > 0) throw new Error(`${core.stats.skippedBytes} bytes skipped: the stream is not what the splitter reads`);
process.stdout.write(`${FORMAT} body, ${STREAM} stream ${process.env.TAG ?? ''} cpu_s_per_million ${((c.user + c.system) / 1e6 / (RECORDS / 1e6)).toFixed(3)} user ${(c.user / 1e6).toFixed(2)} sys ${(c.system / 1e6).toFixed(2)}\n`);
