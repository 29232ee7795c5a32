import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { out, say, type Command } from '../command.ts';
import { LOCAL_SERVICES, logFile, probe, startLocal } from '../local/pipeline.ts';
import { RUN_DIR } from '../local/paths.ts';
import { servers } from '../local/servers.ts';

const BASE_SERVERS = ['nats', 'redis'];

export const up: Command = {
  name: 'up',
  summary: 'start the servers and the five services locally and wait until all are ready',
  usage: 'up [--opensearch] [--docker] [--timeout SECONDS]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        opensearch: { type: 'boolean', default: false },
        docker: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '90' },
      },
    });
    const wanted = [...BASE_SERVERS, ...(values.opensearch ? ['opensearch'] : []), ...(values.docker ? ['docker'] : [])];
    say(`starting servers: ${wanted.join(', ')}`);
    const srv = servers('up', wanted);
    if (!srv.ok) {
      say('sluice up: a server failed to start (see the messages above)');
      return 1;
    }
    const env: Record<string, string> = {
      ...srv.endpoints,
      // No OpenSearch asked for: the sink's embedded NDJSON store is the default.
      OPENSEARCH_URL: srv.endpoints.OPENSEARCH_URL ?? '',
      SINK_DATA_DIR: join(RUN_DIR, 'data', 'events'),
      SLUICE_DATA_DIR: join(RUN_DIR, 'data'),
    };
    for (const s of LOCAL_SERVICES) say(`  ${s.name}: pid ${startLocal(s, env)}`);
    const deadline = Date.now() + Number(values.timeout) * 1000;
    let statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
    while (statuses.some((s) => !s.ready) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
    }
    for (const s of statuses) out(`${s.name}\t${s.ready ? 'ready' : 'NOT READY'}\t${s.pid ?? '-'}`);
    const bad = statuses.filter((s) => !s.ready);
    for (const s of bad) {
      const failing = Object.entries(s.checks).filter(([, c]) => !c.ok);
      say(`sluice up: ${s.name} is not ready (${failing.map(([k, c]) => `${k}: ${c.detail}`).join('; ') || 'not answering'}); log: ${logFile(LOCAL_SERVICES.find((l) => l.name === s.name)!)}`);
    }
    return bad.length === 0 ? 0 : 1;
  },
};
