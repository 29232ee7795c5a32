// A private instance of a real server, started through scripts/services.sh with its own run dir
// and port, for fault tests that stop and restart a server mid-stream: the shared servers other
// tests use are never disturbed, and the test owns what it restarts wherever it runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './service-process.ts';

const exec = promisify(execFile);

export type ServerName = 'nats' | 'redis' | 'opensearch';

export interface PrivateServer {
  url: string;
  up(): Promise<void>;
  down(): Promise<void>;
  /** Stop and delete its state. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const URLS: Record<ServerName, (port: number) => string> = {
  nats: (p) => `nats://127.0.0.1:${p}`,
  redis: (p) => `redis://127.0.0.1:${p}`,
  opensearch: (p) => `http://127.0.0.1:${p}`,
};

export async function privateServer(name: ServerName): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-private-${name}-`));
  // OpenSearch runs as an unprivileged user that must traverse into its data dir.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_RUN_DIR: dir };
  if (name === 'nats') {
    env.SLUICE_NATS_PORT = String(port);
    env.SLUICE_NATS_MONITOR_PORT = String(await freePort());
  } else if (name === 'redis') env.SLUICE_REDIS_PORT = String(port);
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
