// Where OpenSearch's Java CPU goes, from a JFR recording (bench/lib/os-cost.ts, OSCOST_JFR): each
// execution sample goes to the first category (in the order below) any frame of its stack matches,
// so "id lookup inside IndexWriter" counts as id lookup, not as Lucene. Native CPU (GC, the JIT)
// is not sampled by JFR: os-cost.ts reports it per thread from /proc.
//   node --import tsx bench/lib/jfr-summary.ts FILE.jfr
import { execFileSync } from 'node:child_process';

const CATEGORIES: Array<[string, RegExp]> = [
  ['id/version lookup', /VersionsAndSeqNoResolver|PerThreadIDVersionAndSeqNoLookup|resolveDocVersion|loadCurrentVersionFromIndex|LiveVersionMap/],
  ['translog', /\.translog\./],
  ['merge', /\.merge\.|SegmentMerger|MergeThread|OneMerge/],
  ['segment flush (refresh)', /DocumentsWriterPerThread\.flush|DocumentsWriter\.flush|IndexWriter\.getReader|StandardDirectoryReader|maybeRefresh/],
  ['lucene: stored fields (_source, _id)', /StoredFieldsConsumer|StoredFieldsWriter|CompressingStoredFields|LZ4/],
  ['lucene: analysis (text)', /\.analysis\.|Tokenizer|TokenFilter|CharTermAttribute/],
  ['lucene: inverted index', /TermsHashPerField|FreqProxTermsWriter|TermsHash|BytesRefHash|invert\(/],
  ['lucene: points (BKD)', /PointValuesWriter|PointsWriter|\.bkd\./],
  ['lucene: doc values', /DocValuesWriter|NumericDocValues|SortedSetDocValues|SortedDocValues/],
  ['lucene: other', /org\.apache\.lucene/],
  ['date parsing (java.time)', /DateFormatter|DateTimeFormatter|java\.time\./],
  ['json tokenizing (jackson)', /jackson/],
  ['doc parse into fields (mappers)', /DocumentParser|FieldMapper|ObjectMapper|ParseContext|Mapper\./],
  ['bulk request parse/route', /BulkRequestParser|BulkRequest|RestBulkAction|TransportBulkAction|BulkPrimaryExecutionContext|TransportShardBulkAction/],
  ['http/netty', /netty/],
  ['jfr itself', /jdk\.jfr/],
];

interface Frame {
  method: { type: { name: string }; name: string };
}
interface Sample {
  sampledThread: { javaName: string };
  stackTrace: { frames: Frame[] };
}

export function summarise(file: string): { total: number; categories: Record<string, number>; pools: Record<string, number> } {
  const json = execFileSync('jfr', ['print', '--json', '--stack-depth', '256', '--events', 'jdk.ExecutionSample', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const events = (JSON.parse(json) as { recording: { events: Array<{ values: Sample }> } }).recording.events.map((e) => e.values);
  const categories: Record<string, number> = {};
  const pools: Record<string, number> = {};
  const leaves: Record<string, number> = {};
  for (const e of events) {
    const frames = e.stackTrace.frames.map((f) => `${f.method.type.name.replaceAll("/", ".")}.${f.method.name}`);
    const cat = CATEGORIES.find(([, re]) => frames.some((f) => re.test(f)))?.[0] ?? `other: ${frames[0] ?? '?'}`;
    categories[cat] = (categories[cat] ?? 0) + 1;
    if (process.env.JFR_LEAVES) {
      // The leaf, and the first frame below it outside the JDK: what a category's time is spent in.
      const own = frames.find((f) => !/^(java|jdk|sun)\./.test(f)) ?? '?';
      const k = `${cat} | ${frames[0]} | ${own}`;
      leaves[k] = (leaves[k] ?? 0) + 1;
    }
    const pool = /\]\[([a-z_]+)\]/.exec(e.sampledThread.javaName)?.[1] ?? e.sampledThread.javaName;
    pools[pool] = (pools[pool] ?? 0) + 1;
  }
  if (process.env.JFR_LEAVES) {
    for (const [k, n] of Object.entries(leaves).sort(([, a], [, b]) => b - a).slice(0, Number(process.env.JFR_LEAVES))) process.stderr.write(`${n}\t${k}\n`);
  }
  return { total: events.length, categories, pools };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { total, categories, pools } = summarise(process.argv[2]!);
  const pct = (o: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(o)
        .sort(([, a], [, b]) => b - a)
        .filter(([, n]) => n / total >= 0.005)
        .map(([k, n]) => [k, Number(((100 * n) / total).toFixed(1))]),
    );
  process.stdout.write(`${JSON.stringify({ samples: total, category_pct: pct(categories), thread_pct: pct(pools) }, null, 1)}\n`);
}
