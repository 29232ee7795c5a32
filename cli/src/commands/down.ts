import { parseArgs } from 'node:util';
import { say, type Command } from '../command.ts';
import { compose } from '../local/compose.ts';
import { stopPipeline } from '../local/pipeline.ts';
import { servers } from '../local/servers.ts';

export const down: Command = {
  name: 'down',
  summary: 'stop the local services (and, with --all, the servers sluice up started)',
  usage: 'down [--all] | down --compose [--all]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { all: { type: 'boolean', default: false }, compose: { type: 'boolean', default: false } },
    });
    // --all also removes the deployment's volumes (event store, JetStream, reader state).
    if (values.compose) return compose(['down', ...(values.all ? ['-v'] : [])]);
    const stopped = await stopPipeline();
    if (stopped.length) say(`stopped ${stopped.length} process(es): ${stopped.join(' ')}`);
    if (values.all) return servers('down', ['all']).ok ? 0 : 1;
    return 0;
  },
};
