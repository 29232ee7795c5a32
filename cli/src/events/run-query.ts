// The I/O behind `sluice tail` and `sluice events`: resolve the source (flags, then the
// environment, then the local instance), read it, apply the filter, print. Parsing, matching and
// formatting are pure and live beside this file.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EgressEvent } from '@sluice/contracts';
import { parseEnv } from '@sluice/runtime';
import { out, say, UsageError } from '../command.ts';
import { env as cliEnv } from '../local/env.ts';
import { instance } from '../local/instance.ts';
import { parseQueryArgs, type QueryMode, type SourceChoice } from './args.ts';
import { compileFilter, type EventFilter } from './filter.ts';
import { formatter } from './format.ts';
import { followLive } from './live.ts';
import { opensearchEvents } from './opensearch-source.ts';
import { storeEvents } from './store-source.ts';

/** Bad lines reported one by one up to this many; the rest only counted. */
const REPORT_BAD = 20;

export type ResolvedSource =
  | { kind: 'live'; nats: string }
  | { kind: 'file'; dir: string }
  | { kind: 'opensearch'; url: string; prefix: string };

export function resolveSource(choice: SourceChoice, env: NodeJS.ProcessEnv = process.env): ResolvedSource {
  const c = parseEnv('sluice', { OPENSEARCH_URL: cliEnv.OPENSEARCH_URL, SINK_INDEX_PREFIX: cliEnv.SINK_INDEX_PREFIX, SINK_DATA_DIR: cliEnv.SINK_DATA_DIR }, env);
  const file = (dir?: string): ResolvedSource => ({ kind: 'file', dir: dir ?? c.SINK_DATA_DIR ?? join(instance.runDir, 'data', 'events') });
  const opensearch = (url: string | undefined, prefix: string | undefined): ResolvedSource => {
    const u = url ?? c.OPENSEARCH_URL;
    if (u === undefined) throw new UsageError('--from-opensearch: no URL given and OPENSEARCH_URL is not set');
    return { kind: 'opensearch', url: u, prefix: prefix ?? c.SINK_INDEX_PREFIX };
  };
  switch (choice.kind) {
    case 'live':
      return { kind: 'live', nats: choice.nats ?? instance.natsUrl };
    case 'file':
      return file(choice.dir);
    case 'opensearch':
      return opensearch(choice.url, choice.prefix);
    case 'stored':
      return c.OPENSEARCH_URL !== undefined ? opensearch(undefined, undefined) : file();
  }
}

function describe(s: ResolvedSource): string {
  switch (s.kind) {
    case 'live':
      return `live from ${s.nats}`;
    case 'file':
      return `NDJSON store ${s.dir}`;
    case 'opensearch':
      return `OpenSearch ${s.url} ${s.prefix}egress`;
  }
}

function stored(s: ResolvedSource, f: EventFilter, onBad: (why: string) => void): AsyncGenerator<EgressEvent> {
  if (s.kind === 'file') return storeEvents(s.dir, f, onBad);
  if (s.kind === 'opensearch') return opensearchEvents({ url: s.url, prefix: s.prefix }, f, onBad);
  throw new Error(`not a stored source: ${s.kind}`);
}

export async function runQuery(mode: QueryMode, argv: string[]): Promise<number> {
  const args = parseQueryArgs(mode, argv);
  const source = resolveSource(args.source);
  const keep = compileFilter(args.filter);
  const fmt = formatter(args.output);
  const limit = args.limit ?? Infinity;
  // `sluice events | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  let shown = 0;
  let bad = 0;
  const onBad = (why: string) => {
    if (++bad <= REPORT_BAD) say(`${mode}: skipped: ${why}`);
  };
  /** Prints a kept event; false once the limit is reached. */
  const show = (e: EgressEvent): boolean => {
    if (!keep(e)) return true;
    out(fmt.line(e));
    return ++shown < limit;
  };
  if (fmt.header !== undefined) out(fmt.header);
  say(`${mode}: ${describe(source)}`);

  if (source.kind === 'live') {
    const ac = new AbortController();
    const abort = () => ac.abort();
    process.once('SIGINT', abort);
    process.once('SIGTERM', abort);
    try {
      await followLive({ natsUrl: source.nats, filter: args.filter, signal: ac.signal, onEvent: show, onBad });
    } finally {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    }
  } else {
    if (source.kind === 'file') await warnIfMissing(source.dir);
    for await (const e of stored(source, args.filter, onBad)) if (!show(e)) break;
  }
  if (bad > 0) say(`${mode}: ${bad} unreadable event(s) skipped`);
  return 0;
}

async function warnIfMissing(dir: string): Promise<void> {
  try {
    await stat(join(dir, 'egress'));
  } catch {
    say(`no egress events stored under ${dir} (the sink writes there when no OpenSearch is configured)`);
  }
}
