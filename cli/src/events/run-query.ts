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
  | { kind: 'live'; nats: string; follow: boolean }
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
      return { kind: 'live', nats: choice.nats ?? instance.natsUrl, follow: choice.follow };
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
      return `${s.follow ? 'following' : 'reading'} SLUICE_EVENTS at ${s.nats}`;
    case 'file':
      return `NDJSON store ${s.dir}`;
    case 'opensearch':
      return `OpenSearch ${s.url} ${s.prefix}egress`;
  }
}

export interface QueryOptions {
  filter: EventFilter;
  /** Stop after this many kept events. */
  limit?: number;
  /** Ends a live read (SIGINT). */
  signal?: AbortSignal;
}

/**
 * Every event of `source` the filter keeps, in source order (OpenSearch: time order), up to the
 * limit. The one read path of tail and events; other commands (and tests) call it with a filter of
 * their own. Unreadable events go to `onBad`.
 */
export async function forEachEvent(
  source: ResolvedSource,
  o: QueryOptions,
  onEvent: (e: EgressEvent) => void,
  onBad: (why: string) => void,
): Promise<void> {
  const keep = compileFilter(o.filter);
  const limit = o.limit ?? Infinity;
  let kept = 0;
  const take = (e: EgressEvent): boolean => {
    if (!keep(e)) return true;
    onEvent(e);
    return ++kept < limit;
  };
  if (source.kind === 'live') {
    const signal = o.signal ?? new AbortController().signal;
    await followLive({ natsUrl: source.nats, filter: o.filter, follow: source.follow, signal, onEvent: take, onBad });
    return;
  }
  const events =
    source.kind === 'file' ? storeEvents(source.dir, o.filter, onBad) : opensearchEvents({ url: source.url, prefix: source.prefix }, o.filter, onBad);
  for await (const e of events) if (!take(e)) break;
}

export async function runQuery(mode: QueryMode, argv: string[]): Promise<number> {
  const args = parseQueryArgs(mode, argv);
  const source = resolveSource(args.source);
  const fmt = formatter(args.output);
  // `sluice events | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  let bad = 0;
  const onBad = (why: string) => {
    if (++bad <= REPORT_BAD) say(`${mode}: skipped: ${why}`);
  };
  say(`${mode}: ${describe(source)}`);
  if (source.kind === 'file') await warnIfMissing(source.dir);
  if (fmt.header !== undefined) out(fmt.header);
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    await forEachEvent(source, { filter: args.filter, ...(args.limit !== undefined ? { limit: args.limit } : {}), signal: ac.signal }, (e) => out(fmt.line(e)), onBad);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
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
