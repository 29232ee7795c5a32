import { parseArgs } from 'node:util';
import { out, type Command } from '../command.ts';
import { formatResults } from '../doctor/check.ts';
import * as checks from '../doctor/checks.ts';
import { enforcementCanary } from '../doctor/canary.ts';
import { LOCAL_SERVICES } from '../local/pipeline.ts';
import { kernelFeatures } from '../doctor/kernel-features.ts';
import { instance } from '../local/instance.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'check kernel features, mounts, pinned state, helper and server reachability, with fixes',
  usage: 'doctor [--json] [--pin-dir DIR]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean', default: false }, 'pin-dir': { type: 'string' } },
    });
    const env = process.env;
    const results = await Promise.all([
      checks.kernel(),
      checks.privileges(),
      checks.bpffs(),
      checks.cgroup2(),
      checks.helper(),
      checks.pinnedState(values['pin-dir'] ?? instance.pinDir),
      checks.nats(env.NATS_URL ?? 'nats://127.0.0.1:4222'),
      checks.redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
      checks.opensearch(env.OPENSEARCH_URL || undefined),
      checks.docker(env.DOCKER_SOCKET ?? '/var/run/docker.sock'),
      checks.clock(),
      enforcementCanary(LOCAL_SERVICES.find((s) => s.name === 'policy')!),
    ]);
    results.splice(1, 0, ...kernelFeatures());
    out(values.json ? JSON.stringify(results) : formatResults(results));
    return results.every((r) => r.ok || r.optional) ? 0 : 1;
  },
};
