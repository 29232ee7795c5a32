import type { Command } from '../command.ts';
import { runQuery } from '../events/run-query.ts';
import { FILTER_USAGE } from '../events/usage.ts';

export const tail: Command = {
  name: 'tail',
  summary: 'follow egress events live from NATS, filtered like hubble observe (or read a store once)',
  usage: [
    'tail [filters] [output] [--nats URL] [--no-follow] | [--from-file [DIR] | --from-opensearch [URL] [--prefix P]]',
    '  live from SLUICE_EVENTS: new events, or from --since on; --until stops there; --no-follow stops',
    '  once the stored backlog is read;',
    '  --from-file / --from-opensearch read stored events once, like `sluice events`',
    FILTER_USAGE,
  ].join('\n'),
  run: (argv) => runQuery('tail', argv),
};
