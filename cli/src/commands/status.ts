import { parseArgs } from 'node:util';
import { out, say, type Command } from '../command.ts';
import { canaryOf } from '../local/canary.ts';
import { consumerLag } from '../local/lag.ts';
import { instance } from '../local/instance.ts';
import { LOCAL_SERVICES, probe, supervisorPid } from '../local/pipeline.ts';

export const status: Command = {
  name: 'status',
  summary: "each service's health, consumer lag and drop counters",
  usage: 'status [--json] [--nats URL]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        nats: { type: 'string', default: instance.natsUrl },
      },
    });
    const statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
    if (!supervisorPid() && statuses.some((s) => s.ready)) say('status: the supervisor is not running: services that crash will not be restarted (sluice down; sluice up)');
    const lag = await consumerLag(values.nats).catch((err: unknown) => {
      say(`status: cannot read consumer lag from ${values.nats}: ${(err as Error).message}`);
      return {} as Record<string, number | undefined>;
    });
    if (values.json) {
      out(JSON.stringify(statuses.map((s) => ({ ...s, lag: lag[s.name] ?? null }))));
    } else {
      out(['SERVICE', 'READY', 'PID', 'RESTARTS', 'LAG', 'HANDLED', 'DROPPED'].join('\t'));
      for (const s of statuses) {
        const drops = Object.entries(s.dropped).map(([r, n]) => `${r}=${n}`).join(',') || '0';
        const ready = s.ready ? (Object.values(s.checks).some((c) => !c.ok) ? 'degraded' : 'yes') : s.state === 'crash-loop' ? 'crash-loop' : 'no';
        out([s.name, ready, s.pid ?? '-', s.restarts, lag[s.name] ?? '-', s.handled, drops].join('\t'));
        if (!s.ready && s.lastExit) say(`${s.name}: last exit ${s.lastExit}`);
      }
    }
    // JSON has it in the policy service's checks; the table gets a line of its own.
    const canary = canaryOf(statuses.find((s) => s.name === 'policy') ?? { checks: {} });
    if (!values.json) out(`canary\t${canary.red ? canary.state.toUpperCase() : canary.state}\t${canary.detail}`);
    return statuses.every((s) => s.ready) && !canary.red ? 0 : 1;
  },
};
