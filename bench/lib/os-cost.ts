// OpenSearch's own CPU per egress document, for index/bulk variants side by side in one run
// (issue #19/#20: OpenSearch is the ceiling of e2e, otlp and sink). Not a `pnpm bench` area: an
// experiment harness, run by bench/os-cost.sh on the private instance's OpenSearch.
//
// Per variant and round: a fresh data stream from the variant's template, a warm-up load (not
// counted), then N documents in bulks, then the wait until the merges the load started are done.
// Charged: the JVM's CPU (/proc/<pid>/stat) from the first bulk until the merges are done, per
// 1,000 docs, split by thread pool (/proc/<pid>/task/*/stat, thread names from `jcmd Thread.print`).
// Variants run interleaved, the order rotated each round; figures are medians over rounds.
//
// Env: OPENSEARCH_URL, SLUICE_RUN_DIR (to find the JVM), OSCOST_DOCS (40000), OSCOST_WARM (10000),
// OSCOST_ROUNDS (3), OSCOST_VARIANTS (comma list, default all), OSCOST_JFR=<variant> (record a JFR
// of that variant's last measured load, summarised by bench/lib/jfr-summary.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { mappings } from '@sluice/store';
import { egressEvent } from '@sluice/testkit';
import { documentsOf } from './sink-consumers.ts';
import { jcmd, poolDelta, procCpu, taskCpu, threadPools } from './jvm-threads.ts';
import { VARIANTS, type Variant } from './os-cost-variants.ts';

const URL_ = process.env.OPENSEARCH_URL ?? '';
if (!URL_) throw new Error('os-cost: OPENSEARCH_URL is not set (run bench/os-cost.sh)');
const DOCS = Number(process.env.OSCOST_DOCS ?? 40_000);
const WARM = Number(process.env.OSCOST_WARM ?? 10_000);
const ROUNDS = Number(process.env.OSCOST_ROUNDS ?? 3);
const only = process.env.OSCOST_VARIANTS?.split(',').filter(Boolean);

async function os(method: string, path: string, body?: unknown, ndjson = false): Promise<any> {
  const r = await fetch(`${URL_}${path}`, {
    method,
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok && !(method === 'DELETE' && r.status === 404)) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

function jvmPid(): number {
  const marker = `-Epath.data=${process.env.SLUICE_RUN_DIR}/opensearch/data`;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(marker) && cmd.split('\0')[0]!.endsWith('/java')) return Number(p);
    } catch {
      /* a process that went away, or one we may not read */
    }
  }
  throw new Error(`os-cost: no java process with ${marker}`);
}

function bulks(v: Variant, index: string, from: number, n: number): string[] {
  const docs = documentsOf(Array.from({ length: n }, (_, i) => egressEvent(from + i)));
  const size = v.bulk ?? 1000;
  const out: string[] = [];
  for (let i = 0; i < docs.length; i += size) {
    const lines = docs.slice(i, i + size).map((d) => (v.autoId ? `{"create":{"_index":"${index}"}}\n${d.json}\n` : `{"create":{"_index":"${index}","_id":${JSON.stringify(d.id)}}}\n${d.json}\n`));
    out.push(lines.join(''));
  }
  return out;
}

async function load(bodies: string[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const r = await os('POST', '/_bulk?filter_path=errors,items.*.error', bodies[next++]!, true);
      if (r.errors) throw new Error(`bulk item errors: ${JSON.stringify(r.items?.[0]).slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

interface Stats {
  index_ms: number;
  refresh_ms: number;
  merge_ms: number;
  flush_ms: number;
  merges_current: number;
  segments: number;
}
async function stats(index: string): Promise<Stats> {
  const p = (await os('GET', `/${index}/_stats/indexing,refresh,merge,flush,segments`))._all.primaries;
  return {
    index_ms: p.indexing.index_time_in_millis,
    refresh_ms: p.refresh.total_time_in_millis,
    merge_ms: p.merges.total_time_in_millis,
    flush_ms: p.flush.total_time_in_millis,
    merges_current: p.merges.current,
    segments: p.segments.count,
  };
}

interface Run {
  cpuPerK: number;
  loadCpuPerK: number;
  docsPerS: number;
  pools: Record<string, number>;
  stats: Record<string, number>;
  storeMb: number;
}

let idFrom = 0;
async function measure(pid: number, pools: Map<number, string>, v: Variant, round: number, jfr: boolean, docs = DOCS, warmDocs = WARM): Promise<Run> {
  const name = `oscost-${v.name}-r${round}`;
  const m = v.mappings ? v.mappings(structuredClone(mappings('egress'))) : mappings('egress');
  if (v.pipeline) await os('PUT', `/_ingest/pipeline/${name}`, v.pipeline);
  const pipeline = v.pipeline ? { 'index.default_pipeline': name } : {};
  await os('PUT', `/_index_template/${name}`, {
    index_patterns: [name],
    data_stream: {},
    priority: 500,
    template: { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1s', ...pipeline, ...v.settings }, mappings: m },
  });
  const warm = bulks(v, name, idFrom, warmDocs);
  idFrom += warmDocs;
  const body = bulks(v, name, idFrom, docs);
  idFrom += docs;
  const conc = v.concurrency ?? 2;
  if (warm.length > 0) {
    await load(warm, conc);
    await waitMerges(name);
  } else await os('PUT', `/_data_stream/${name}`);
  const s0 = await stats(name);
  if (jfr) jcmd(pid, 'JFR.start', 'name=oscost', 'settings=profile', `filename=/tmp/oscost-${v.name}.jfr`);
  const t0 = taskCpu(pid);
  const c0 = procCpu(pid);
  const w0 = performance.now();
  await load(body, conc);
  const secs = (performance.now() - w0) / 1000;
  const cLoad = procCpu(pid) - c0;
  await waitMerges(name);
  const c1 = procCpu(pid) - c0;
  const t1 = taskCpu(pid);
  if (jfr) jcmd(pid, 'JFR.stop', 'name=oscost');
  const s1 = await stats(name);
  if (v.name === 'lean' && round === 0) await probeQueries(name);
  if (v.name === 'date-rfc' && round === 0) await probeDates(name);
  const store = (await os('GET', `/${name}/_stats/store`))._all.primaries.store.size_in_bytes / 2 ** 20;
  await os('DELETE', `/_data_stream/${name}`);
  await os('DELETE', `/_index_template/${name}`);
  if (v.pipeline) await os('DELETE', `/_ingest/pipeline/${name}`);
  const k = docs / 1000;
  // Named after the load: threads the load started (write pool, dynamic JIT threads) exist by now.
  const pd = poolDelta(t0, t1, new Map([...pools, ...threadPools(pid)]));
  return {
    cpuPerK: c1 / k,
    loadCpuPerK: cLoad / k,
    docsPerS: docs / secs,
    pools: Object.fromEntries(Object.entries(pd).map(([p, c]) => [p, c / k])),
    stats: {
      index_ms_per_k: (s1.index_ms - s0.index_ms) / k,
      refresh_ms_per_k: (s1.refresh_ms - s0.refresh_ms) / k,
      merge_ms_per_k: (s1.merge_ms - s0.merge_ms) / k,
      flush_ms_per_k: (s1.flush_ms - s0.flush_ms) / k,
      segments: s1.segments,
    },
    storeMb: store,
  };
}

/** Whether fields kept as doc values only still answer term and range queries (OpenSearch ≥ 2.12?). */
async function probeQueries(index: string): Promise<void> {
  for (const q of [{ term: { 'attributes.pid': 110 } }, { range: { 'attributes.bytes_out': { gte: 30, lt: 3000 } } }, { range: { 'attributes.time': { gte: '2026-01-01T12:00:00.000Z', lt: '2026-01-01T12:00:01.000Z' } } }]) {
    try {
      const r = await os('POST', `/${index}/_count`, { query: q });
      process.stderr.write(`  probe ${JSON.stringify(q)}: ${r.count} hits\n`);
    } catch (err) {
      process.stderr.write(`  probe ${JSON.stringify(q)}: ${(err as Error).message.slice(0, 200)}\n`);
    }
  }
}

/** Which range queries on @timestamp a non-default date format still answers. */
async function probeDates(index: string): Promise<void> {
  const ms = Date.parse('2026-01-01T12:00:00.000Z') + idFrom - DOCS;
  const probes: Array<[string, unknown]> = [
    ['iso', { gte: new Date(ms).toISOString() }],
    ['number', { gte: ms }],
    ['number as string', { gte: String(ms) }],
    ['number, format epoch_millis', { gte: ms, format: 'epoch_millis' }],
    ['date math now-1d', { lte: 'now' }],
    ['iso, format strict_date_optional_time (Dashboards)', { gte: new Date(ms).toISOString(), format: 'strict_date_optional_time' }],
  ];
  for (const [label, range] of probes) {
    try {
      const r = await os('POST', `/${index}/_count`, { query: { range: { '@timestamp': range } } });
      process.stderr.write(`  date probe ${label}: ${r.count} hits\n`);
    } catch (err) {
      process.stderr.write(`  date probe ${label}: FAILS ${(err as Error).message.slice(0, 160)}\n`);
    }
  }
}

/** Until no merge runs and the JVM has been quiet for a moment (merges start after a refresh). */
async function waitMerges(index: string): Promise<void> {
  await os('POST', `/${index}/_refresh`);
  for (let quiet = 0; quiet < 3; ) {
    await new Promise((r) => setTimeout(r, 250));
    quiet = (await stats(index)).merges_current === 0 ? quiet + 1 : 0;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const pid = jvmPid();
// jvm.options' -Xmx comes first, OPENSEARCH_JAVA_OPTS' (the one in force) last.
const heap = [...readFileSync(`/proc/${pid}/cmdline`, 'utf8').matchAll(/-Xmx([^\0]+)/g)].at(-1)?.[1];
const chosen = VARIANTS.filter((v) => !only || only.includes(v.name));
process.stderr.write(`os-cost: JVM ${pid} (heap ${heap}), ${chosen.length} variants × ${ROUNDS} rounds, ${DOCS} docs (+${WARM} warm-up)\n`);
// The node warms up on base loads of 10,000 documents each (OSCOST_COLD_LOADS, default 1): what each
// cost is the cold curve (how long a fresh node pays for its JIT).
const coldCurve: Array<{ docs: number; cpu_s_per_1k: number; jit_cpu_s_per_1k: number; docs_per_s: number }> = [];
for (let i = 0; i < Number(process.env.OSCOST_COLD_LOADS ?? 1); i++) {
  const c = await measure(pid, threadPools(pid), VARIANTS[0]!, -1 - i, false, 10_000, 0);
  coldCurve.push({ docs: (i + 1) * 10_000, cpu_s_per_1k: c.cpuPerK, jit_cpu_s_per_1k: c.pools.jit ?? 0, docs_per_s: c.docsPerS });
  process.stderr.write(`  cold load ${i + 1}: ${c.cpuPerK.toFixed(3)} CPU-s/1k docs (jit ${(c.pools.jit ?? 0).toFixed(3)}), ${c.docsPerS.toFixed(0)} docs/s\n`);
}
const idle0 = procCpu(pid);
await new Promise((r) => setTimeout(r, 3000));
const idlePerS = (procCpu(pid) - idle0) / 3;
const runs = new Map<string, Run[]>();
for (let r = 0; r < ROUNDS; r++) {
  const order = chosen.map((_, i) => chosen[(i + r) % chosen.length]!);
  for (const v of order) {
    const pools = threadPools(pid);
    const run = await measure(pid, pools, v, r, process.env.OSCOST_JFR === v.name && r === ROUNDS - 1);
    process.stderr.write(`  r${r} ${v.name.padEnd(14)} ${run.cpuPerK.toFixed(3)} CPU-s/1k docs (load ${run.loadCpuPerK.toFixed(3)}), ${run.docsPerS.toFixed(0)} docs/s\n`);
    runs.set(v.name, [...(runs.get(v.name) ?? []), run]);
  }
}
const table = chosen.map((v) => {
  const rs = runs.get(v.name)!;
  const pools = [...new Set(rs.flatMap((x) => Object.keys(x.pools)))];
  const stats = Object.keys(rs[0]!.stats);
  return {
    variant: v.name,
    heap,
    what: v.what,
    cpu_s_per_1k: median(rs.map((x) => x.cpuPerK)),
    load_cpu_s_per_1k: median(rs.map((x) => x.loadCpuPerK)),
    docs_per_s: median(rs.map((x) => x.docsPerS)),
    store_mb: median(rs.map((x) => x.storeMb)),
    rounds: rs.map((x) => Number(x.cpuPerK.toFixed(3))),
    pools: Object.fromEntries(pools.map((p) => [p, Number(median(rs.map((x) => x.pools[p] ?? 0)).toFixed(4))]).filter(([, c]) => (c as number) >= 0.001)),
    stats: Object.fromEntries(stats.map((s) => [s, median(rs.map((x) => x.stats[s]!))])),
  };
});
process.stdout.write(`${JSON.stringify({ heap, docs: DOCS, idle_cpu_per_s: idlePerS, cold_curve: coldCurve, variants: table }, null, 1)}\n`);
