import { parseArgs } from 'node:util';
import { out, type Command } from '../command.ts';
import { LOCAL_SERVICES, probe } from '../local/pipeline.ts';

export const status: Command = {
  name: 'status',
  summary: "each service's health and drop counters",
  usage: 'status [--json]',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
    const statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
    if (values.json) {
      out(JSON.stringify(statuses));
    } else {
      out(['SERVICE', 'READY', 'PID', 'HANDLED', 'DROPPED'].join('\t'));
      for (const s of statuses) {
        const drops = Object.entries(s.dropped).map(([r, n]) => `${r}=${n}`).join(',') || '0';
        out([s.name, s.ready ? 'yes' : 'no', s.pid ?? '-', s.handled, drops].join('\t'));
      }
    }
    return statuses.every((s) => s.ready) ? 0 : 1;
  },
};
