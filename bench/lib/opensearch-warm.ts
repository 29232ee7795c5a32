// A freshly started OpenSearch pays for its JIT while it indexes: bench/lib/os-cost.ts measured
// its JVM at 0.3–0.45 CPU-s per 1,000 egress documents over the first ~100,000 documents, against
// ~0.13 warm (2026-12-02, 2.19 on JDK 17; the C2 compiler threads alone took up to 0.47 of it).
// `pnpm bench` starts the instance's OpenSearch afresh (quiet-machine.sh stops it before every
// locked run), while an operator's runs for days: a bench that means the steady state first loads
// WARM_DOCS egress documents through the sink's own template into a scratch data stream, then
// deletes it. The load goes straight to `_bulk`, so it costs the pipeline nothing.
import { dataStreamName, ensureTemplates } from '@sluice/store';
import { createLogger } from '@sluice/runtime';
import { egressEvent, type Slice } from '@sluice/testkit';
import { documentsOf } from './sink-consumers.ts';

export const WARM_DOCS = Number(process.env.BENCH_OPENSEARCH_WARM_DOCS ?? 200_000);
const BULK = 1000;
const BATCH = 20_000;

/** Loads `docs` egress documents into `<prefix>egress-warm` (the egress template's pattern) and deletes it; seconds taken. */
export async function warmOpenSearch(s: Slice, docs = WARM_DOCS): Promise<number> {
  if (docs <= 0) return 0;
  const t0 = performance.now();
  await ensureTemplates(s.os, s.prefix, createLogger('bench', 'silent'));
  const index = `${dataStreamName(s.prefix, 'egress')}-warm`;
  try {
    // Built per batch, so 200,000 documents never sit in memory at once.
    for (let from = 0; from < docs; from += BATCH) {
      const batch = documentsOf(Array.from({ length: Math.min(BATCH, docs - from) }, (_, i) => egressEvent(from + i)));
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
      await Promise.all([worker(), worker()]);
    }
  } finally {
    await s.os.indices.deleteDataStream({ name: index }).catch(() => undefined);
  }
  return (performance.now() - t0) / 1000;
}
