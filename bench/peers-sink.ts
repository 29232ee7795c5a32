// Sink vs the OpenTelemetry Collector vs a plain `_bulk` loader: the same egress events (same count,
// same shape) into the same OpenSearch, in the same rounds, each charged its own process's CPU.
//   Sluice sink   drains the events from JetStream (NDJSON messages of 500) into OpenSearch
//   otelcol       reads the same NDJSON, one event a line, with the filelog receiver (json_parser)
//                 → batch → opensearchexporter; when that exporter cannot be built here (see the
//                 notes in latest.md for the Go toolchain's words) → the nop exporter, so its CPU
//                 is a floor: the collector's share before any document is built or sent
//   plain _bulk   this process sending the documents, prebuilt, in bulks of the same size
// Figures (medians over rounds, ratios paired within a round):
//   sink.peers.<consumer>.{docs_per_s,cpu_s_per_million,docs_per_cpu_s}
//   sink.otelcol_ratio       docs per CPU-s, Sluice over otelcol (goal ≥ 1.5)
//   sink.peers.bulk_ratio    docs/s, Sluice over the plain loader, same rounds (sink.ts owns sink.bulk_ratio)
//   sink.peers.otelcol_nop   1 when the collector measured is the nop-exporter fallback
// BENCH_QUICK=1: one round of 20,000 events instead of three of 60,000.
import { resolve } from 'node:path';
import { closeSlice, egressEvent, freePort, openSlice } from '@sluice/testkit';
import { buildOtelcol, runOtelcol, type ConsumerResult, type OtelcolBuild } from './lib/otelcol-peer.ts';
import { documentsOf, plainBulk, sluiceSink } from './lib/sink-consumers.ts';
import { median } from './lib/stats.ts';
import { warmOpenSearch } from './lib/opensearch-warm.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const DOCS = Number(process.env.BENCH_PEERS_SINK_DOCS ?? (QUICK ? 20_000 : 60_000));
const ROUNDS = QUICK ? 1 : 3;
const BULK = 1000;
const PER_MESSAGE = 500;
const CONSUMERS = ['sluice', 'otelcol', 'bulk'] as const;
type Consumer = (typeof CONSUMERS)[number];

let lastNotes: string[] = [];
/** Markdown lines for latest.md: which collector was measured, and why when it is the fallback. */
export function notes(): string[] {
  return lastNotes;
}

export const notesOf = (build: OtelcolBuild | { error: string }): string[] => {
  if ('error' in build) return [`- **otelcol**: no collector could be built: \`${build.error}\``];
  const lines = [`- **otelcol**: collector ${build.release} (core/contrib), built by scripts/build-otelcol.sh with the ${build.variant} exporter.`];
  if (build.opensearch_error) {
    lines.push(
      `- **otelcol**: opensearchexporter could not be built here; the Go toolchain said: \`${build.opensearch_error.replace(/https?:\/\/[^/\s]+/g, '<module proxy>').replace(/\s+/g, ' ')}\`. ` +
        'The collector measured is the newest that builds (same release) with the nop exporter: its CPU per document is a floor, so `sink.otelcol_ratio` is a lower bound.',
    );
  }
  return lines;
};

/** What limits `sink.otelcol_ratio`, from this run's CPU per document (rendered into latest.md). */
export function limitsOf(results: Record<Consumer, ConsumerResult[]>, variant: OtelcolBuild['variant'] | undefined): string[] {
  const perM = (c: Consumer) => (results[c].length === 0 ? undefined : median(results[c].map((x) => (x.cpuSeconds / x.docs) * 1e6)));
  const [sluice, otelcol, bulk] = [perM('sluice'), perM('otelcol'), perM('bulk')];
  if (sluice === undefined || otelcol === undefined) return [];
  const what =
    variant === 'nop'
      ? 'reading the file, json_parser into its log model and batching, with no document built or sent (nop exporter)'
      : 'reading the file, json_parser, batching and the opensearchexporter building and sending the documents';
  return [
    `- **sink.otelcol_ratio** (goal ≥ 1.5): the collector spends ${otelcol.toFixed(1)} CPU-s per million events on ${what}; ` +
      `the Sluice sink ${sluice.toFixed(1)} on the whole path: JetStream pulls and acks, JSON.parse and schema validation of every line, ` +
      `the ss4o document, the bulk body and its response` +
      (bulk === undefined ? '.' : `, of which sending the bulks alone costs the plain loader ${bulk.toFixed(1)}.`) +
      ` The ratio is limited by the sink's JavaScript per-document work (\`sink.parse_us_per_doc\`) against the collector's Go pipeline` +
      (variant === 'nop' ? `; with the nop exporter the collector does less than the sink, so the ratio is a lower bound.` : '.'),
  ];
}

export async function run(): Promise<Record<string, number>> {
  const build = buildOtelcol(resolve(import.meta.dirname, '..'));
  lastNotes = notesOf(build);
  const results: Record<Consumer, ConsumerResult[]> = { sluice: [], otelcol: [], bulk: [] };
  const port = await freePort();
  // A warm-up load first (as sink.ts does): a freshly started OpenSearch indexes its first bulks
  // several times slower, and whoever went first would pay for it.
  const warm = await openSlice('peersinkwarm');
  try {
    // Past the JIT of a fresh node (lib/opensearch-warm.ts): 20,000 documents left it at 2–3× its warm cost per document.
    await warmOpenSearch(warm);
  } finally {
    await closeSlice(warm);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const s = await openSlice('peersink');
    try {
      const events = Array.from({ length: DOCS }, (_, i) => egressEvent(i, { project: s.project }));
      const lines = events.map((e) => JSON.stringify(e));
      const docs = documentsOf(events);
      // Rotate who goes first, so no consumer always gets the warm (or the cold) OpenSearch.
      const order = [...CONSUMERS.slice(r % 3), ...CONSUMERS.slice(0, r % 3)];
      for (const c of order) {
        if (c === 'sluice') results.sluice.push(await sluiceSink(s, events, PER_MESSAGE, BULK, port));
        else if (c === 'bulk') results.bulk.push(await plainBulk(s, `${s.prefix}plain-`, docs, BULK));
        else if (!('error' in build)) {
          const index = `${s.prefix}otel-logs`;
          const res = await runOtelcol(build, lines, await freePort(), build.variant === 'opensearch' ? { url: s.opensearchUrl, index } : undefined);
          if (build.variant === 'opensearch') {
            await s.os.indices.refresh({ index });
            const count = ((await s.os.count({ index })).body as { count: number }).count;
            await s.os.indices.delete({ index });
            if (count !== DOCS) throw new Error(`otelcol stored ${count} of ${DOCS}`);
          }
          results.otelcol.push(res);
        }
      }
      process.stderr.write(
        `peers-sink round ${r}: ${CONSUMERS.map((c) => {
          const x = results[c][r];
          return x ? `${c} ${Math.round(x.docs / x.seconds)} docs/s ${((x.cpuSeconds / x.docs) * 1e6).toFixed(2)} CPU-s/M` : `${c} –`;
        }).join('; ')}\n`,
      );
    } finally {
      await closeSlice(s);
    }
  }
  const out: Record<string, number> = {};
  lastNotes.push(...limitsOf(results, 'error' in build ? undefined : build.variant));
  for (const c of CONSUMERS) {
    const xs = results[c];
    if (xs.length === 0) continue;
    out[`sink.peers.${c}.docs_per_s`] = Math.round(median(xs.map((x) => x.docs / x.seconds)));
    out[`sink.peers.${c}.cpu_s_per_million`] = Number(median(xs.map((x) => (x.cpuSeconds / x.docs) * 1e6)).toFixed(2));
    out[`sink.peers.${c}.docs_per_cpu_s`] = Math.round(median(xs.map((x) => x.docs / x.cpuSeconds)));
  }
  const perCpu = (x: ConsumerResult) => x.docs / x.cpuSeconds;
  out['sink.peers.bulk_ratio'] = Number(median(results.sluice.map((x, i) => x.docs / x.seconds / (results.bulk[i]!.docs / results.bulk[i]!.seconds))).toFixed(3));
  if (results.otelcol.length > 0) {
    out['sink.otelcol_ratio'] = Number(median(results.sluice.map((x, i) => perCpu(x) / perCpu(results.otelcol[i]!))).toFixed(3));
    out['sink.peers.otelcol_nop'] = 'error' in build || build.variant === 'nop' ? 1 : 0;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
