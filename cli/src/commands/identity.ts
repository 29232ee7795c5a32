// `sluice identity`: give a non-Docker cgroup an agent/project (what `sluice run` needs so its
// traffic is attributed `registered`), take it back, or ask who a cgroup id / IP is. Talks to the
// attributor over its identity API (IDENTITY_API in contracts); replies are printed as JSON on stdout.
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { IDENTITY_API, type WorkloadIdentity } from '@sluice/contracts';
import { request, RpcError } from '@sluice/runtime';
import { out, UsageError, type Command } from '../command.ts';
import { cliNatsServers } from '../nats-servers.ts';

type IdentityVerb = 'register' | 'unregister' | 'lookup';

/** One request to the attributor; a refusal becomes a UsageError carrying the attributor's reason. */
async function ask(nc: NatsConnection, verb: IdentityVerb, body: Record<string, unknown>): Promise<WorkloadIdentity | null> {
  try {
    return await request(nc, IDENTITY_API, verb, body as never, { timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof RpcError) throw new UsageError(`identity ${verb}: ${err.message}`, err.code === 'bad_request' ? 2 : 1);
    throw err;
  }
}

const USAGE = [
  'identity register (--cgroup-path /path/under/cgroup2 | --cgroup-id N) [--agent A] [--project P] [--ttl SECONDS] [--node NAME]',
  '  identity unregister --cgroup-id N [--node NAME]',
  '  identity lookup (--cgroup-id N | --ip ADDR) [--node NAME]',
].join('\n');

export const identity: Command = {
  name: 'identity',
  summary: 'register a non-Docker cgroup with an agent/project, or look up who a cgroup id or IP is',
  usage: USAGE,
  async run(argv) {
    const [verb, ...rest] = argv;
    if (verb !== 'register' && verb !== 'unregister' && verb !== 'lookup') throw new UsageError(`usage: sluice ${USAGE}`);
    const { values } = parseArgs({
      args: rest,
      options: {
        'cgroup-path': { type: 'string' },
        'cgroup-id': { type: 'string' },
        ip: { type: 'string' },
        agent: { type: 'string' },
        project: { type: 'string' },
        ttl: { type: 'string' },
        node: { type: 'string' },
        nats: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
      },
    });
    const body: Record<string, unknown> = {};
    if (values.node !== undefined) body.node = values.node;
    if (values['cgroup-id'] !== undefined) body.cgroup_id = values['cgroup-id'];
    if (verb === 'register') {
      if (values['cgroup-path'] !== undefined) body.cgroup_path = values['cgroup-path'];
      if (values.agent !== undefined) body.agent = values.agent;
      if (values.project !== undefined) body.project = values.project;
      if (values.ttl !== undefined) {
        const ttl = Number(values.ttl);
        if (!Number.isInteger(ttl) || ttl <= 0) throw new UsageError(`--ttl must be a positive number of seconds, got ${JSON.stringify(values.ttl)}`);
        body.ttl_s = ttl;
      }
    }
    if (verb === 'lookup' && values.ip !== undefined) body.ip = values.ip;
    const user = process.env.SLUICE_NATS_USER ?? process.env.NATS_USER;
    const pass = process.env.SLUICE_NATS_PASSWORD ?? process.env.NATS_PASSWORD;
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: cliNatsServers(values.nats), timeout: 3000, maxReconnectAttempts: 0, name: 'sluice-cli', ...(user ? { user, pass: pass ?? '' } : {}) });
    } catch (err) {
      throw new UsageError(`cannot connect to NATS at ${values.nats}: ${(err as Error).message}`, 1);
    }
    try {
      const identity = await ask(nc, verb, body);
      out(JSON.stringify(identity));
      return verb === 'lookup' && !identity ? 1 : 0;
    } finally {
      await nc.close();
    }
  },
};
