// The NATS servers a CLI command talks to: --nats, else NATS_URL, else the default instance's.
// Several, comma-separated, as the services take them (one name per setting): against a cluster
// any of them answering is enough.
import { natsServers } from '@sluice/runtime';
import { UsageError } from './command.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export function cliNatsServers(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = value ?? env.NATS_URL ?? DEFAULT_NATS_URL;
  try {
    return natsServers(raw);
  } catch (err) {
    throw new UsageError(`--nats / NATS_URL ${JSON.stringify(raw)}: ${(err as Error).message}`);
  }
}
