import { parseArgs } from 'node:util';
import { out, type Command } from '../command.ts';
import { composeUp } from '../local/compose.ts';
import { ensurePipeline } from '../local/ensure.ts';

export const up: Command = {
  name: 'up',
  summary: 'start the servers and the five services locally and wait until all are ready',
  usage: 'up [--opensearch] [--docker] [--timeout SECONDS] | up --compose [--timeout SECONDS]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        opensearch: { type: 'boolean', default: false },
        docker: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '90' },
        // The docker compose deployment (infra/docker-compose.yml) instead of local processes.
        compose: { type: 'boolean', default: false },
      },
    });
    if (values.compose) {
      // Image builds and OpenSearch's first boot take longer than local processes.
      const state = await composeUp(Math.max(Number(values.timeout), 300) * 1000);
      for (const s of state.states) out(`${s.service}\t${s.state}\t${s.health}`);
      return state.ok ? 0 : 1;
    }
    const state = await ensurePipeline({
      opensearch: values.opensearch,
      docker: values.docker,
      timeoutMs: Number(values.timeout) * 1000,
    });
    for (const s of state.statuses) out(`${s.name}\t${s.ready ? 'ready' : 'NOT READY'}\t${s.pid ?? '-'}`);
    return state.ok ? 0 : 1;
  },
};
