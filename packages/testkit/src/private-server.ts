// A private instance of a real server with its own state and port, for fault tests that stop and
// restart a server mid-stream: no other test's server is disturbed, and the test owns what it
// restarts wherever it runs. Redis and OpenSearch start through scripts/services.sh (its own run
// dir and port); NATS through the one private NATS launcher.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import { privateNats } from './nats-server.ts';
import { REPO_ROOT } from './repo-paths.ts';

const exec = promisify(execFile);

export type ServerName = 'nats' | 'redis' | 'opensearch';

export interface PrivateServer {
  url: string;
  up(): Promise<void>;
  down(): Promise<void>;
  /** Stop and delete its state. */
  destroy(): Promise<void>;
}

const URLS: Record<Exclude<ServerName, 'nats'>, (port: number) => string> = {
  redis: (p) => `redis://127.0.0.1:${p}`,
  opensearch: (p) => `http://127.0.0.1:${p}`,
};

export async function privateServer(name: ServerName): Promise<PrivateServer> {
  if (name === 'nats') {
    const nats = await privateNats();
    return { url: nats.url, up: nats.up, down: nats.down, destroy: nats.stop };
  }
  const dir = mkdtempSync(join(tmpdir(), `sluice-private-${name}-`));
  // OpenSearch runs as an unprivileged user that must traverse into its data dir.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_RUN_DIR: dir };
  if (name === 'redis') env.SLUICE_REDIS_PORT = String(port);
  else env.SLUICE_OPENSEARCH_PORT = String(port);
  const services = (verb: string) =>
    exec('bash', [join(REPO_ROOT, 'scripts', 'services.sh'), verb, name], { env, timeout: 300_000 }).then(() => undefined);
  const server: PrivateServer = {
    url: URLS[name](port),
    up: () => services('up'),
    down: () => services('down'),
    destroy: async () => {
      await services('down');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.up();
  return server;
}
