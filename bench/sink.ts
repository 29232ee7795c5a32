// Sink throughput against the real NATS + OpenSearch: `sink.docs_per_s` is the rate at which a real
// sink process (child, default settings) drains a backlog of egress events from JetStream into
// accepted documents (every message acked only after OpenSearch accepted its documents);
// `sink.bulk_ratio` divides it by the rate of a plain `_bulk` loader sending the very same
// documents, prebuilt, to the same OpenSearch in the same run. Like with like: both send bulks of
// BULK docs with CONCURRENCY in flight (the sink's adaptive sizer is pinned to that size: left
// free it grows to 5000-doc bulks, which OpenSearch digests faster than the loader's, and the ratio
// then measures bulk size, not the sink's own cost), into data streams made by the same templates.
// A warm-up round, then rounds alternating which side goes first; figures are medians.
// Goal ≥ 0.9. Knobs: BENCH_SINK_DOCS, BENCH_SINK_ROUNDS, BENCH_SINK_BULK, BENCH_SINK_ENV (JSON env
// for the sink, for tuning), BENCH_SINK_DEBUG (print the sink's bulk metrics).
// `sink.parse_us_per_doc`: the per-document CPU alone (median of 5 timed passes over 20,000 events):
// validation, the ss4o document and its UTF-8 bytes in the message's buffer (since 2026-12-02
// parseBatch writes those bytes itself; before, the pipeline encoded them afterwards, outside this
// figure). Egress lines are checked and written from their bytes (store egress-scan.ts, since
// 2026-12-02); `sink.parse_json_us_per_doc` is the same work with that scanner off (JSON.parse,
// the compiled check, the document built as an object), passes of the two alternating.
// `sink.cpu_s_per_million` / `sink.plain_bulk_cpu_s_per_million`: CPU-seconds per million documents
// of the sink process and of the loader (this process) in the same rounds: what each takes from
// the two cores OpenSearch indexes on. BENCH_QUICK=1: 3 rounds instead of 5.
// `sink.helper_threads_pct`: the share of the sink's CPU in the measured rounds spent on threads other
// than its main one (V8's concurrent marking, parallel scavenging, sweeping and compilers; libuv),
// which the profile below does not sample (median over rounds; /proc/<pid>/task/<pid>/stat).
// `sink.json_path_{docs_per_s,cpu_s_per_million,helper_threads_pct}`: the same drain by a sink with its
// egress byte path off (SINK_EGRESS_SCAN=off), in each round beside the others; `sink.scan_cpu_ratio`:
// the byte path's CPU per document over that, paired within each round (median).
// `sink.profile.<stage>_pct`: where the sink's CPU goes, from one more drain of the same backlog
// under `node --cpu-prof` (lib/sink-profile.ts stages; BENCH_SINK_PROFILE_DIR keeps the profile).
import { STREAMS } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import { closeSlice, egressEvent, openSlice, publishEgress, searchableCount, type Slice, sliceEnv, startService, stopService } from '@sluice/testkit';
import { ensureTemplates, parseBatch, dataStreamName, SOURCES, templateName, useEgressScan } from '@sluice/store';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CpuProfile, stageBreakdown, type StageBreakdown } from './lib/cpu-profile.ts';
import { withSourceFiles } from './lib/profile-sources.ts';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/proc.ts';
import { SINK_CLASSIFIER, SINK_STAGES, type SinkStage } from './lib/sink-profile.ts';
import { warmOpenSearch } from './lib/opensearch-warm.ts';

const DOCS = Number(process.env.BENCH_SINK_DOCS ?? 60_000);
const PER_MESSAGE = 500;
const PORT = 19_489;
const BULK = Number(process.env.BENCH_SINK_BULK ?? 1000);
const CONCURRENCY = 2;

interface Side {
  rate: number;
  cpuPerMillion: number;
  /** The sink's CPU on threads other than its main one (V8's GC and compiler helpers), in percent. */
  helperPct?: number;
  /** The measured window in V8 monotonic µs (process.hrtime's clock), to cut a profile to it. */
  fromUs?: number;
  toUs?: number;
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);

async function plainLoader(s: Slice, prefix: string, docs: Array<{ id: string; json: string }>): Promise<Side> {
  await ensureTemplates(s.os, prefix, createLogger('bench', 'silent'));
  const index = dataStreamName(prefix, 'egress');
  const bulks: string[][] = [];
  for (let i = 0; i < docs.length; i += BULK) {
    bulks.push(docs.slice(i, i + BULK).flatMap((d) => [`{"create":{"_index":"${index}","_id":${JSON.stringify(d.id)}}}`, d.json]));
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bulks.length) {
      const body = bulks[next++]!;
      const r = await s.os.bulk({ body, filter_path: 'errors' } as never);
      if ((r.body as { errors?: boolean }).errors) throw new Error('plain loader: bulk had item errors');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const count = await (async () => {
    await s.os.indices.refresh({ index });
    return ((await s.os.count({ index })).body as { count: number }).count;
  })();
  if (count !== docs.length) throw new Error(`plain loader stored ${count} of ${docs.length}`);
  for (const src of SOURCES) {
    await s.os.indices.deleteDataStream({ name: dataStreamName(prefix, src) });
    await s.os.indices.deleteIndexTemplate({ name: templateName(prefix, src) });
  }
  return { rate: (docs.length / ms) * 1000, cpuPerMillion: ((cpu.user + cpu.system) / docs.length) };
}

/**
 * The backlog is published first, so the window holds only the sink's own work (pull, validate,
 * build, bulk, ack) and not JetStream's storing of the input, which the plain loader never pays.
 * The clock starts when the consumer first hands out a message (20 ms polling granularity).
 */
async function sinkRate(s: Slice, events: ReturnType<typeof egressEvent>[], profileDir?: string, env: Record<string, string> = {}): Promise<Side> {
  await publishEgress(s, events, PER_MESSAGE);
  const sink = startService('sink', sliceEnv(s, PORT, {
      LOG_LEVEL: 'warn',
      SINK_BULK_MIN_DOCS: String(BULK),
      SINK_BULK_MAX_DOCS: String(BULK),
      SINK_BULK_CONCURRENCY: String(CONCURRENCY),
      ...JSON.parse(process.env.BENCH_SINK_ENV ?? '{}'),
      ...env }),
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  try {
    const info = () => s.jsm.consumers.info(STREAMS.events.name, `${s.consumerPrefix}-egress`).catch(() => undefined);
    let t0 = 0;
    let fromUs = 0;
    let cpu0 = 0;
    let main0 = 0;
    for (;;) {
      if (sink.child.exitCode !== null) throw new Error(`sink exited: ${sink.stderr()}`);
      const ci = await info();
      if (ci && t0 === 0 && ci.delivered.stream_seq > 0) {
        t0 = performance.now();
        fromUs = monoUs();
        cpu0 = cpuSeconds(sink.child.pid!);
        main0 = mainThreadCpuSeconds(sink.child.pid!);
      }
      if (ci && t0 > 0 && ci.num_pending === 0 && ci.num_ack_pending === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - t0;
    const toUs = monoUs();
    const cpu = cpuSeconds(sink.child.pid!) - cpu0;
    const main = mainThreadCpuSeconds(sink.child.pid!) - main0;
    if (process.env.BENCH_SINK_DEBUG) {
      const m = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
      process.stderr.write(m.split('\n').filter((l) => /sluice_sink_bulk_(duration_ms|docs)_(sum|count)|requests/.test(l)).join('\n') + '\n');
    }
    const count = await searchableCount(s, 'egress');
    if (count !== events.length) throw new Error(`sink stored ${count} of ${events.length}`);
    return { rate: (events.length / ms) * 1000, cpuPerMillion: (cpu / events.length) * 1e6, helperPct: cpu > 0 ? (100 * (cpu - main)) / cpu : 0, fromUs, toUs };
  } finally {
    await stopService(sink, 5000);
  }
}

/**
 * One more sink run, CPU-profiled (so not one of the measured rounds: the profiler costs CPU), cut
 * to its draining window and charged to the stages of lib/sink-profile.ts.
 */
async function sinkProfile(): Promise<StageBreakdown<SinkStage>> {
  // BENCH_SINK_PROFILE_DIR keeps the .cpuprofile there (for a closer look); otherwise a temporary directory.
  const keep = process.env.BENCH_SINK_PROFILE_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'sink-prof-'));
  const s = await openSlice('sinkbenchprof');
  try {
    const side = await sinkRate(s, Array.from({ length: DOCS }, (_, i) => egressEvent(i, { project: s.project })), dir);
    // CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile: thread 0 is the main one (tsx's loader runs in another).
    const f = readdirSync(dir).find((n) => /\.\d+\.0\.\d+\.cpuprofile$/.test(n));
    if (!f) throw new Error(`no main-thread .cpuprofile of the sink in ${dir} after it stopped`);
    // The sink runs compiled in the benches: frames are mapped back to their sources for the stages.
    const profile = withSourceFiles(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
    return stageBreakdown(profile, { fromUs: side.fromUs, toUs: side.toUs }, 15, SINK_CLASSIFIER);
  } finally {
    await closeSlice(s);
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** Documents exactly as the sink builds and serializes them. */
function documentsOf(events: ReturnType<typeof egressEvent>[]): Array<{ id: string; json: string }> {
  return parseBatch('egress', events.map((e) => JSON.stringify(e)).join('\n'), new Date().toISOString()).docs.map((d) => ({
    id: d.id,
    json: d.json,
  }));
}

/**
 * CPU per event of the sink's own per-document work (JSON.parse, validation, document, serialization into bytes)
 * in this process: less noisy than the end-to-end rates, which share two cores with OpenSearch.
 * Messages go in as the bytes the sink gets from NATS (since 2026-12-02 it parses those; before,
 * the string decoded from them, so earlier figures leave out the decode).
 */
function parseMicros(): { scan: number; json: number } {
  const messages = Array.from({ length: 40 }, (_, m) =>
    Buffer.from(Array.from({ length: PER_MESSAGE }, (_, i) => JSON.stringify(egressEvent(m * PER_MESSAGE + i))).join('\n')),
  );
  const per = { scan: [] as number[], json: [] as number[] };
  try {
    for (let rep = 0; rep < 14; rep++) {
      const side = rep % 2 === 0 ? 'scan' : 'json';
      useEgressScan(side === 'scan');
      const observed = new Date().toISOString();
      const t0 = performance.now();
      for (const m of messages) parseBatch('egress', m, observed);
      per[side].push(((performance.now() - t0) * 1000) / (messages.length * PER_MESSAGE));
    }
  } finally {
    useEgressScan(true);
  }
  const median = (xs: number[]) => xs.slice(2).sort((a, b) => a - b)[2]!;
  return { scan: median(per.scan), json: median(per.json) };
}

export async function run(): Promise<Record<string, number>> {
  // OpenSearch on a small machine is noisy from one run to the next: alternate which side goes
  // first and take medians, so neither side gets all the warm (or all the cold) moments and one
  // disturbed round does not move the figure.
  const rounds = Number(process.env.BENCH_SINK_ROUNDS ?? (process.env.BENCH_QUICK === '1' ? 3 : 5));
  const loader: Side[] = [];
  const sink: Side[] = [];
  const jsonPath: Side[] = [];
  const warm = await openSlice('sinkbenchwarm');
  try {
    // Past the JIT of a fresh node (lib/opensearch-warm.ts): 20,000 documents left it at 2–3× its warm cost per document.
    await warmOpenSearch(warm);
  } finally {
    await closeSlice(warm);
  }
  for (let r = 0; r < rounds; r++) {
    const s = await openSlice('sinkbench');
    try {
      const events = Array.from({ length: DOCS }, (_, i) => egressEvent(i, { project: s.project }));
      const docs = documentsOf(events);
      // The sink with its egress byte path off (SINK_EGRESS_SCAN=off: JSON.parse, the schema, the
      // document as an object), in a slice of its own in the same round: the before/after of that path, side by side.
      const jsonSide = async () => {
        const sj = await openSlice('sinkbenchjson');
        try {
          jsonPath.push(await sinkRate(sj, events.map((e) => ({ ...e, project: sj.project })), undefined, { SINK_EGRESS_SCAN: 'off' }));
        } finally {
          await closeSlice(sj);
        }
      };
      const sides = [async () => loader.push(await plainLoader(s, `${s.prefix}plain-`, docs)), async () => sink.push(await sinkRate(s, events)), jsonSide];
      for (let k = 0; k < sides.length; k++) await sides[(r + k) % sides.length]!();
      process.stderr.write(
        `sink round ${r}: loader ${Math.round(loader[r]!.rate)} docs/s ${loader[r]!.cpuPerMillion.toFixed(2)} CPU-s/M; ` +
          `sink ${Math.round(sink[r]!.rate)} docs/s ${sink[r]!.cpuPerMillion.toFixed(2)} CPU-s/M (${sink[r]!.helperPct!.toFixed(0)}% off the main thread); ` +
          `sink, byte path off ${Math.round(jsonPath[r]!.rate)} docs/s ${jsonPath[r]!.cpuPerMillion.toFixed(2)} CPU-s/M (${jsonPath[r]!.helperPct!.toFixed(0)}%)\n`,
      );
    } finally {
      await closeSlice(s);
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  // The ratio of each round (same minutes, same machine load) before the median: a cross-round
  // ratio of medians would mix a quiet round's loader with a busy round's sink.
  const ratios = sink.map((v, i) => v.rate / loader[i]!.rate);
  const prof = await sinkProfile();
  process.stderr.write(
    `sink profile (${prof.samples} samples): ${SINK_STAGES.map((st) => `${st} ${prof.pct[st].toFixed(1)}%`).join(', ')}\n` +
      `  top: ${prof.top.map((t) => `${t.fn} (${t.file}) ${t.pct.toFixed(1)}%`).join(', ')}\n`,
  );
  const parse = parseMicros();
  const out: Record<string, number> = {
    'sink.parse_us_per_doc': Number(parse.scan.toFixed(2)),
    'sink.parse_json_us_per_doc': Number(parse.json.toFixed(2)),
    'sink.docs_per_s': Math.round(median(sink.map((x) => x.rate))),
    'sink.plain_bulk_docs_per_s': Math.round(median(loader.map((x) => x.rate))),
    'sink.bulk_ratio': Number(median(ratios).toFixed(3)),
    'sink.cpu_s_per_million': Number(median(sink.map((x) => x.cpuPerMillion)).toFixed(2)),
    'sink.plain_bulk_cpu_s_per_million': Number(median(loader.map((x) => x.cpuPerMillion)).toFixed(2)),
    'sink.helper_threads_pct': Number(median(sink.map((x) => x.helperPct!)).toFixed(1)),
    'sink.json_path_docs_per_s': Math.round(median(jsonPath.map((x) => x.rate))),
    'sink.json_path_cpu_s_per_million': Number(median(jsonPath.map((x) => x.cpuPerMillion)).toFixed(2)),
    'sink.json_path_helper_threads_pct': Number(median(jsonPath.map((x) => x.helperPct!)).toFixed(1)),
    // Paired within each round: the byte path's CPU per document over the JSON.parse path's.
    'sink.scan_cpu_ratio': Number(median(sink.map((x, i) => x.cpuPerMillion / jsonPath[i]!.cpuPerMillion)).toFixed(3)),
  };
  for (const st of SINK_STAGES) out[`sink.profile.${st}_pct`] = Number(prof.pct[st].toFixed(1));
  lastNotes = notesOf(out, prof);
  return out;
}

let lastNotes: string[] = [];
/** What limits `sink.bulk_ratio`, from this run's figures (rendered into latest.md). */
export function notes(): string[] {
  return lastNotes;
}

export function notesOf(f: Record<string, number>, prof?: StageBreakdown<SinkStage>): string[] {
  const sinkCores = (f['sink.docs_per_s']! * f['sink.cpu_s_per_million']!) / 1e6;
  const loaderCores = (f['sink.plain_bulk_docs_per_s']! * f['sink.plain_bulk_cpu_s_per_million']!) / 1e6;
  return [
    `- **sink.bulk_ratio ${f['sink.bulk_ratio']}** (goal ≥ 0.9): both sides send the same bulks (1,000 documents, 2 in flight) to the same ` +
      `OpenSearch on the same 2 cores, so each rate is OpenSearch's indexing rate on what CPU is left to it. The loader sends prebuilt ` +
      `bodies: ${f['sink.plain_bulk_cpu_s_per_million']} CPU-s per million documents, ${loaderCores.toFixed(2)} of a core at its rate. ` +
      `The sink pulls from JetStream, parses and validates every line, builds the ss4o document (${f['sink.parse_us_per_doc']} µs of it, ` +
      `\`sink.parse_us_per_doc\`), encodes the bulk and acks: ${f['sink.cpu_s_per_million']} CPU-s per million, ${sinkCores.toFixed(2)} of a core, ` +
      `plus the NATS server's CPU for the deliveries, all taken from OpenSearch's share of the two cores. That difference in CPU is ` +
      `what separates the two rates.`,
    ...(f['sink.json_path_cpu_s_per_million'] === undefined
      ? []
      : [
          `- **The egress byte path** (store egress-scan.ts: lines checked and written from their bytes): the same drains by a sink with it ` +
            `off (\`SINK_EGRESS_SCAN=off\`, JSON.parse + schema + document object) took ${f['sink.json_path_cpu_s_per_million']} CPU-s per million ` +
            `against ${f['sink.cpu_s_per_million']}; paired within rounds, the byte path costs ${f['sink.scan_cpu_ratio']}× the CPU per document ` +
            `(in process: ${f['sink.parse_us_per_doc']} against ${f['sink.parse_json_us_per_doc']} µs per document to parse).`,
        ]),
    ...(prof === undefined
      ? []
      : [
          `- **Where the sink's CPU goes** (a profiled drain of the same backlog, ${prof.samples} samples; lib/sink-profile.ts): ` +
            SINK_STAGES.filter((st) => prof.pct[st] >= 0.5)
              .map((st) => `${st} ${prof.pct[st].toFixed(0)}%`)
              .join(', ') +
            `. Heaviest functions: ${prof.top.slice(0, 6).map((t) => `${t.fn} (${t.file}) ${t.pct.toFixed(0)}%`).join(', ')}.` +
            (f['sink.helper_threads_pct'] === undefined
              ? ''
              : ` The profile samples the main thread only: ${f['sink.helper_threads_pct']}% of the sink's CPU in the measured rounds ` +
                `was on its other threads (\`sink.helper_threads_pct\`: V8's garbage-collector and compiler helpers), on top of the gc share above.`),
        ]),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
