import type { Command } from '../command.ts';
import { runQuery } from '../events/run-query.ts';
import { FILTER_USAGE } from '../events/usage.ts';

export const events: Command = {
  name: 'events',
  summary: 'query stored egress events (NDJSON store or OpenSearch) with the filters of tail',
  usage: [
    'events [filters] [output] [--from-file [DIR] | --from-opensearch [URL] [--prefix P]]',
    '  reads once and exits; default source: OpenSearch when OPENSEARCH_URL is set, else the',
    '  NDJSON store (SINK_DATA_DIR, or the local instance\'s .run/data/events)',
    FILTER_USAGE,
  ].join('\n'),
  run: (argv) => runQuery('events', argv),
};
