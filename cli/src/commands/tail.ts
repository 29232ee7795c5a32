import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { EgressEvent } from '@sluice/contracts';
import { readNdjsonStore } from '@sluice/store';
import { out, say, type Command } from '../command.ts';
import { matches, parseFilter, subjectFor, type EventFilter } from '../events/filter.ts';
import { DEFAULT_WIDTHS, TABLE_HEADER, eventRow, formatRow } from '../events/format.ts';
import { followLive } from '../events/live.ts';
import { RUN_DIR } from '../local/paths.ts';

export const tail: Command = {
  name: 'tail',
  summary: 'follow egress events live from NATS, or read them from the NDJSON store',
  usage:
    'tail [--project P] [--agent A] [--verdict V] [--host GLOB] [--port N] [--since 15m|ISO] [--json] [--from-file [DIR]] [--limit N]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        project: { type: 'string' },
        agent: { type: 'string' },
        verdict: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean', default: false },
        'from-file': { type: 'string' },
        file: { type: 'boolean', default: false },
        limit: { type: 'string' },
        nats: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
      },
    });
    const filter = parseFilter(values);
    const limit = values.limit === undefined ? Infinity : Number(values.limit);
    let shown = 0;
    let bad = 0;
    const print = (e: EgressEvent): boolean => {
      if (!matches(filter, e)) return true;
      if (values.json) out(JSON.stringify(e));
      else out(formatRow(eventRow(e), DEFAULT_WIDTHS));
      return ++shown < limit;
    };
    if (!values.json) out(formatRow(TABLE_HEADER, DEFAULT_WIDTHS));

    if (values['from-file'] !== undefined || values.file) {
      const dir = values['from-file'] || process.env.SINK_DATA_DIR || join(RUN_DIR, 'data', 'events');
      for await (const doc of readNdjsonStore(dir, storeFilter(filter), (f, n, err) => {
        bad++;
        say(`tail: ${f}:${n}: ${err.message}`);
      })) {
        const r = EgressEvent.safeParse(doc.attributes);
        if (!r.success) {
          bad++;
          continue;
        }
        if (!print(r.data)) break;
      }
      if (bad > 0) say(`tail: ${bad} unreadable line(s) skipped`);
      return 0;
    }

    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    await followLive({
      natsUrl: values.nats,
      subject: subjectFor(filter),
      ...(filter.since !== undefined ? { since: filter.since } : {}),
      signal: ac.signal,
      onEvent: (e) => {
        if (!print(e)) ac.abort();
      },
      onBad: (why) => {
        bad++;
        say(`tail: skipped bad event: ${why}`);
      },
    });
    return 0;
  },
};

function storeFilter(f: EventFilter) {
  return {
    sources: ['egress' as const],
    ...(f.since !== undefined ? { since: new Date(f.since) } : {}),
    ...(f.project !== undefined ? { project: f.project } : {}),
    ...(f.agent !== undefined ? { agent: f.agent } : {}),
    ...(f.verdict !== undefined ? { verdict: f.verdict } : {}),
  };
}
