// The command line of `sluice tail` and `sluice events`, parsed without I/O: filters (repeatable,
// `--not` negating the next one), the time window, the output and the source. Every bad value is
// a UsageError naming its flag (exit 2).
import { parseArgs } from 'node:util';
import { UsageError } from '../command.ts';
import { FILTER_FIELDS, checkWindow, parseTerm, parseTime, type EventFilter, type FilterField } from './filter.ts';
import { OUTPUT_FORMATS, type OutputOptions } from './format.ts';

export type QueryMode = 'tail' | 'events';

export type SourceChoice =
  /** tail's default: SLUICE_EVENTS through an ephemeral consumer, following. */
  | { kind: 'live'; nats?: string; follow: boolean }
  /** The NDJSON store; no dir: SINK_DATA_DIR or the local instance's. */
  | { kind: 'file'; dir?: string }
  /** clawker-egress; no url: OPENSEARCH_URL. */
  | { kind: 'opensearch'; url?: string; prefix?: string }
  /** events' default: OpenSearch when OPENSEARCH_URL is set, else the NDJSON store. */
  | { kind: 'stored' };

export interface QueryArgs {
  filter: EventFilter;
  output: OutputOptions;
  /** Stop after this many matching events. */
  limit?: number;
  source: SourceChoice;
}

const OPTIONAL_VALUE = new Set(['--from-file', '--from-opensearch']);
const INDEX_PREFIX = /^[a-z0-9][a-z0-9_.-]*$/;

const STRINGS = { type: 'string', multiple: true } as const;
const OPTIONS = {
  project: STRINGS,
  agent: STRINGS,
  verdict: STRINGS,
  host: STRINGS,
  port: STRINGS,
  proto: STRINGS,
  rule: STRINGS,
  reason: STRINGS,
  container: STRINGS,
  node: STRINGS,
  not: { type: 'boolean', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  wide: { type: 'boolean' },
  limit: { type: 'string' },
  'from-file': { type: 'string' },
  'from-opensearch': { type: 'string' },
  prefix: { type: 'string' },
  nats: { type: 'string' },
  'no-follow': { type: 'boolean' },
} as const satisfies Record<FilterField, unknown> & Record<string, unknown>;

/** `--from-file` / `--from-opensearch` take an optional value: bare, they mean "the default". */
function withOptionalValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (OPTIONAL_VALUE.has(a) && (next === undefined || next.startsWith('-'))) out.push(`${a}=`);
    else out.push(a);
  }
  return out;
}

function parsed(mode: QueryMode, argv: string[]) {
  try {
    return parseArgs({ args: withOptionalValues(argv), options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    // node:util's messages name the option ("Unknown option '--x'", "Option '--limit <value>' argument missing").
    throw new UsageError(`${mode}: ${(err as Error).message}`);
  }
}

const isFilter = (name: string): name is FilterField => (FILTER_FIELDS as readonly string[]).includes(name);

export function parseQueryArgs(mode: QueryMode, argv: string[], now = Date.now()): QueryArgs {
  const { values, tokens } = parsed(mode, argv);
  const filter: EventFilter = { include: [], exclude: [] };
  let negate = false;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (t.name === 'not') {
      if (negate) throw new UsageError('--not --not: --not negates the filter flag that follows it');
      negate = true;
      continue;
    }
    if (negate && !isFilter(t.name)) {
      throw new UsageError(`--not ${t.rawName}: --not negates a filter flag (${FILTER_FIELDS.map((f) => `--${f}`).join(', ')})`);
    }
    if (isFilter(t.name)) {
      (negate ? filter.exclude : filter.include).push(parseTerm(t.name, t.value ?? ''));
      negate = false;
    }
  }
  if (negate) throw new UsageError('--not at the end: it negates the filter flag that follows it');
  if (values.since !== undefined) filter.since = parseTime('--since', values.since, now);
  if (values.until !== undefined) filter.until = parseTime('--until', values.until, now);
  checkWindow(filter);

  let format = values.output;
  if (format !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`-o ${JSON.stringify(format)}: expected one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (values.json) {
    if (format !== undefined && format !== 'json') throw new UsageError(`--json conflicts with -o ${format} (--json is -o json)`);
    format = 'json';
  }
  const output: OutputOptions = { format: (format ?? 'table') as OutputOptions['format'], wide: values.wide === true };
  if (output.wide && output.format !== 'table') throw new UsageError(`--wide applies to -o table (got -o ${output.format})`);

  const args: QueryArgs = { filter, output, source: sourceOf(mode, values) };
  if (values.limit !== undefined) {
    if (!/^\d{1,15}$/.test(values.limit) || Number(values.limit) < 1) {
      throw new UsageError(`--limit ${JSON.stringify(values.limit)}: expected a whole number of events, at least 1`);
    }
    args.limit = Number(values.limit);
  }
  return args;
}

interface SourceValues {
  'from-file'?: string | undefined;
  'from-opensearch'?: string | undefined;
  prefix?: string | undefined;
  nats?: string | undefined;
  'no-follow'?: boolean | undefined;
}

function sourceOf(mode: QueryMode, v: SourceValues): SourceChoice {
  if (v['from-file'] !== undefined && v['from-opensearch'] !== undefined) {
    throw new UsageError('--from-file and --from-opensearch: give one source');
  }
  if (v.prefix !== undefined) {
    if (v['from-opensearch'] === undefined && mode === 'tail') throw new UsageError('--prefix applies to --from-opensearch');
    if (!INDEX_PREFIX.test(v.prefix)) {
      throw new UsageError(`--prefix ${JSON.stringify(v.prefix)}: expected an index prefix of lower-case letters, digits, "_", "-" or "." (like clawker-)`);
    }
  }
  if (v['no-follow'] && (mode === 'events' || v['from-file'] !== undefined || v['from-opensearch'] !== undefined)) {
    throw new UsageError('--no-follow applies to the live source (stored sources are read once anyway)');
  }
  if (v['from-file'] !== undefined) {
    if (v.nats !== undefined) throw new UsageError('--nats applies to the live source, not --from-file');
    return v['from-file'] === '' ? { kind: 'file' } : { kind: 'file', dir: v['from-file'] };
  }
  if (v['from-opensearch'] !== undefined) {
    if (v.nats !== undefined) throw new UsageError('--nats applies to the live source, not --from-opensearch');
    const url = v['from-opensearch'];
    if (url !== '') for (const u of url.split(',')) checkHttpUrl('--from-opensearch', u);
    return { kind: 'opensearch', ...(url !== '' ? { url } : {}), ...(v.prefix !== undefined ? { prefix: v.prefix } : {}) };
  }
  if (mode === 'events' && v.nats !== undefined) throw new UsageError('--nats: events reads stored events; `sluice tail` follows NATS');
  if (mode === 'events') return v.prefix !== undefined ? { kind: 'opensearch', prefix: v.prefix } : { kind: 'stored' };
  if (v.nats !== undefined && v.nats.trim() === '') throw new UsageError('--nats "": expected a NATS URL like nats://127.0.0.1:4222');
  const follow = v['no-follow'] !== true;
  return v.nats !== undefined ? { kind: 'live', nats: v.nats, follow } : { kind: 'live', follow };
}

export function checkHttpUrl(name: string, u: string): void {
  let url: URL | undefined;
  try {
    url = new URL(u);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`${name} ${JSON.stringify(u)}: expected an http(s) URL like http://127.0.0.1:9200`);
  }
}
