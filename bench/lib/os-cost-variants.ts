// The index and bulk variants bench/lib/os-cost.ts measures side by side. `know` variants are
// there only to price something (auto ids, async translog, no _source): none of them may ship.
type Mapping = Record<string, any>;

export interface Variant {
  name: string;
  what: string;
  settings?: Record<string, unknown>;
  mappings?: (m: Mapping) => Mapping;
  autoId?: boolean;
  bulk?: number;
  concurrency?: number;
  /** An ingest pipeline made the index's default_pipeline. */
  pipeline?: Record<string, unknown>;
}

const attrs = (m: Mapping) => m.properties.attributes.properties as Record<string, Mapping>;
/** index: false on these attributes (doc values stay: aggregations and sorting still work). */
const unindex = (names: string[]) => (m: Mapping) => {
  for (const n of names) attrs(m)[n] = { ...attrs(m)[n], index: false };
  return m;
};
// Egress fields no test, dashboard or CLI filters on: sizes, pids, ports of the source side, times
// of a suppressed run. Numbers are BKD points when indexed.
export const UNSEARCHED_NUMBERS = ['pid', 'tid', 'src_port', 'sock_protocol', 'bytes_in', 'bytes_out', 'duration_ms', 'suppressed_count', 'first_time', 'last_time'];

const bodyLite = (m: Mapping) => ((m.properties.body = { type: 'text', norms: false }), m);
// Duplicates or constants: the time is @timestamp's, observedTimestamp is when the sink saw it.
const metaOff = (m: Mapping) => {
  m.properties.observedTimestamp = { ...m.properties.observedTimestamp, index: false };
  m.properties.severity.properties.number = { ...m.properties.severity.properties.number, index: false };
  return unindex(['time'])(m);
};

/** Every date field's format (the whole mapping tree) set to `format`. */
function datesAs(m: Mapping, format: string): Mapping {
  for (const v of Object.values((m.properties ?? {}) as Record<string, Mapping>)) {
    if (v.type === 'date') v.format = format;
    if (v.properties) datesAs(v, format);
  }
  return m;
}

export const VARIANTS: Variant[] = [
  { name: 'base', what: 'the template as shipped (templates.ts), explicit _id, bulk 1000 × 2 in flight' },
  { name: 'autoid', what: 'know: no _id (no dedupe)', autoId: true },
  { name: 'bulk200', what: 'bulk 200 × 2', bulk: 200 },
  { name: 'bulk5000', what: 'bulk 5000 × 2', bulk: 5000 },
  { name: 'conc1', what: 'bulk 1000 × 1', concurrency: 1 },
  { name: 'conc4', what: 'bulk 1000 × 4', concurrency: 4 },
  { name: 'body-off', what: 'body not indexed (index: false)', mappings: (m) => ((m.properties.body = { type: 'text', index: false }), m) },
  { name: 'body-lite', what: 'body: norms off (positions kept: phrase search works)', mappings: bodyLite },
  { name: 'meta-off', what: 'observedTimestamp, severity.number, attributes.time index: false', mappings: metaOff },
  { name: 'lean', what: 'body-lite + nums-off + meta-off', mappings: (m) => metaOff(unindex(UNSEARCHED_NUMBERS)(bodyLite(m))) },
  { name: 'lean-b5000', what: 'lean, bulk 5000 × 2', bulk: 5000, mappings: (m) => metaOff(unindex(UNSEARCHED_NUMBERS)(bodyLite(m))) },
  { name: 'nums-off', what: 'unsearched numbers index: false', mappings: unindex(UNSEARCHED_NUMBERS) },
  {
    name: 'id-nodv',
    what: 'attributes.id doc_values off (searched, never aggregated)',
    mappings: (m) => ((attrs(m).id = { ...attrs(m).id, doc_values: false }), m),
  },
  { name: 'nosource', what: 'know: _source off', mappings: (m) => ((m._source = { enabled: false }), m) },
  { name: 'tl-async', what: 'know: translog async (acked ≠ stored)', settings: { 'index.translog.durability': 'async' } },
  {
    name: 'id-bloom',
    what: 'bloom filter on _id (index.optimize_doc_id_lookup.fuzzy_set.enabled): the create-by-id lookup of a new id',
    settings: { 'index.optimize_doc_id_lookup.fuzzy_set.enabled': true },
  },
  { name: 'date-rfc', what: "every date as rfc3339_lenient (OpenSearch's fast parser), @timestamp too", mappings: (m) => datesAs(m, 'rfc3339_lenient') },
  {
    name: 'v2-dates',
    what: 'every date as strict_date_optional_time||epoch_millis (template v2)',
    mappings: (m) => datesAs(m, 'strict_date_optional_time||epoch_millis'),
  },
  { name: 'codec-bc', what: 'index.codec best_compression', settings: { 'index.codec': 'best_compression' } },
  {
    name: 'merge-wide',
    what: 'merge: segments_per_tier 20, floor 16mb',
    settings: { 'index.merge.policy.segments_per_tier': 20, 'index.merge.policy.floor_segment': '16mb' },
  },
];
