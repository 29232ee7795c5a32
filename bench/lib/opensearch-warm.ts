// A freshly started OpenSearch pays for its JIT while it indexes: bench/lib/os-cost.ts measured
// its JVM at 0.3–0.45 CPU-s per 1,000 egress documents over the first ~100,000 documents, against
// ~0.13 warm (2026-12-02, 2.19 on JDK 17; the C2 compiler threads alone took up to 0.47 of it).
// `pnpm bench` starts the instance's OpenSearch afresh (quiet-machine.sh stops it before every
// locked run), while an operator's runs for days: a bench that means the steady state first loads
// egress documents through the sink's own template into a scratch data stream, then deletes it.
// The load goes straight to `_bulk`, so it costs the pipeline nothing.
// A fixed count is not enough on a busy machine: a JVM on 2 CPUs has one C2 compiler thread, and
// beside two write threads and the bench it gets ~0.3 of a core, so after 300,000 documents its
// queue was still full and it compiled through the e2e burst (docs/opensearch-cost.md, "Why the
// JIT kept compiling"). warmOpenSearchUntilJitQuiet loads until the compiler threads go quiet.
import { dataStreamName, ensureTemplates } from '@sluice/store';
import { createLogger } from '@sluice/runtime';
import { egressEvent, type Slice } from '@sluice/testkit';
import { jitCpu } from './jvm-threads.ts';
import { documentsOf } from './sink-consumers.ts';
import { pollBody } from './visibility.ts';

export const WARM_DOCS = Number(process.env.BENCH_OPENSEARCH_WARM_DOCS ?? 200_000);
/** Quiet: the compiler threads spent at most this per 1,000 documents of a batch (warm and alone: ~0.009). */
export const JIT_QUIET_S_PER_1K = Number(process.env.BENCH_OPENSEARCH_JIT_QUIET ?? 0.015);
/** The longest an until-quiet warm-up loads before it gives up (and says so). */
const WARM_MAX_S = Number(process.env.BENCH_OPENSEARCH_WARM_MAX_S ?? 300);
const BULK = 1000;
const BATCH = 20_000;

const warmIndex = (s: Slice): string => `${dataStreamName(s.prefix, 'egress')}-warm`;

/** Documents `from`…`from + n` into `index`, `BULK` a bulk, `concurrency` bulks in flight. */
async function loadBatch(s: Slice, index: string, from: number, n: number, concurrency: number): Promise<void> {
  const batch = documentsOf(Array.from({ length: n }, (_, i) => egressEvent(from + i)));
  const bodies: string[] = [];
  for (let i = 0; i < batch.length; i += BULK) {
    bodies.push(batch.slice(i, i + BULK).map((d) => `{"create":{"_index":"${index}","_id":${JSON.stringify(d.id)}}}\n${d.json}\n`).join(''));
  }
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const r = await s.os.transport.request({ method: 'POST', path: '/_bulk', querystring: { filter_path: 'errors' }, body: bodies[next++]! });
      if ((r.body as { errors?: boolean }).errors) throw new Error(`OpenSearch warm-up: bulk into ${index} had item errors`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Loads `docs` egress documents into `<prefix>egress-warm` (the egress template's pattern) and deletes it; seconds taken. */
export async function warmOpenSearch(s: Slice, docs = WARM_DOCS): Promise<number> {
  if (docs <= 0) return 0;
  const t0 = performance.now();
  await ensureTemplates(s.os, s.prefix, createLogger('bench', 'silent'));
  const index = warmIndex(s);
  try {
    // Built per batch, so 200,000 documents never sit in memory at once.
    for (let from = 0; from < docs; from += BATCH) await loadBatch(s, index, from, Math.min(BATCH, docs - from), 2);
  } finally {
    await s.os.indices.deleteDataStream({ name: index }).catch(() => undefined);
  }
  return (performance.now() - t0) / 1000;
}

export interface WarmUp extends Quiet {
  seconds: number;
}

/**
 * Loads egress documents as warmOpenSearch does, at least `minDocs`, then until a batch costs the
 * JIT of the node `pid` at most JIT_QUIET_S_PER_1K (or WARM_MAX_S passed), while polling the
 * stream as VisibilityWatch does, so the search paths the benches' watch takes are compiled too.
 * One bulk in flight, not two: the compiler thread then gets about a core instead of a third of
 * one, so its queue drains in fewer documents.
 */
export async function warmOpenSearchUntilJitQuiet(s: Slice, url: string, pid: number, minDocs = WARM_DOCS, log: (line: string) => void = () => undefined): Promise<WarmUp> {
  const t0 = performance.now();
  await ensureTemplates(s.os, s.prefix, createLogger('bench', 'silent'));
  const index = warmIndex(s);
  let polling = true;
  const poller = (async () => {
    let after = -1;
    while (polling) {
      const t = Date.now();
      try {
        const r = await fetch(`${url}/${index}/_search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pollBody(after, true, ['@timestamp'])) });
        if (r.ok) after = ((await r.json()) as { hits: { hits: Array<{ _seq_no: number }> } }).hits.hits.at(-1)?._seq_no ?? after;
        else await r.body?.cancel(); // 404 until the first bulk made the stream
      } catch {
        /* a failed poll only leaves the search paths a little colder */
      }
      await new Promise((res) => setTimeout(res, Math.max(0, 100 - (Date.now() - t))));
    }
  })();
  try {
    const quiet = await untilJitQuiet(pid, BATCH, minDocs, WARM_MAX_S, (from) => loadBatch(s, index, from, BATCH, 1), log);
    return { seconds: (performance.now() - t0) / 1000, ...quiet };
  } finally {
    polling = false;
    await poller.catch(() => undefined);
    await s.os.indices.deleteDataStream({ name: index }).catch(() => undefined);
  }
}

export interface Quiet {
  docs: number;
  /** JIT CPU-s per 1,000 documents of the last chunk. */
  jitSPer1k: number;
  quiet: boolean;
}

/**
 * Runs `chunk(from)`, which indexes `perChunk` documents numbered from `from`, at least until
 * `minDocs`, then until one chunk costs the compiler threads of the JVM `pid` at most
 * JIT_QUIET_S_PER_1K per 1,000 documents, or `maxS` seconds passed.
 */
export async function untilJitQuiet(pid: number, perChunk: number, minDocs: number, maxS: number, chunk: (from: number) => Promise<void>, log: (line: string) => void): Promise<Quiet> {
  const t0 = performance.now();
  let docs = 0;
  let jitSPer1k = Infinity;
  for (;;) {
    const jit0 = jitCpu(pid);
    await chunk(docs);
    docs += perChunk;
    jitSPer1k = (jitCpu(pid) - jit0) / (perChunk / 1000);
    const seconds = (performance.now() - t0) / 1000;
    log(`${docs} documents, ${seconds.toFixed(0)} s: JIT ${jitSPer1k.toFixed(3)} CPU-s per 1,000`);
    if (docs >= minDocs && (jitSPer1k <= JIT_QUIET_S_PER_1K || seconds >= maxS)) break;
  }
  return { docs, jitSPer1k, quiet: jitSPer1k <= JIT_QUIET_S_PER_1K };
}
