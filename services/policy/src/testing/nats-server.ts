// A private nats-server for tests that need the real accounts/permissions config
// (infra/nats/accounts.conf): its own loopback port and store directory, so it never collides with
// the shared server from scripts/services.sh.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const TEST_PASSWORDS = {
  SLUICE_OPERATOR_PASSWORD: 'op-secret',
  SLUICE_VIEWER_PASSWORD: 'viewer-secret',
  SLUICE_POLICY_PASSWORD: 'policy-secret',
  SLUICE_LEARNER_PASSWORD: 'learner-secret',
  SLUICE_READER_PASSWORD: 'reader-secret',
  SLUICE_ATTRIBUTOR_PASSWORD: 'attributor-secret',
  SLUICE_SINK_PASSWORD: 'sink-secret',
};

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface TestNats {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  connectAs(user: string, password: string, name?: string): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startAccountsNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-nats-'));
  copyFileSync(join(REPO_ROOT, 'infra/nats/accounts.conf'), join(dir, 'accounts.conf'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'server.conf'),
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'js')}", max_memory_store: 64MB, max_file_store: 4GB }\ninclude ./accounts.conf\n`,
  );
  const child = spawn('nats-server', ['-c', join(dir, 'server.conf')], {
    env: { ...process.env, ...TEST_PASSWORDS },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = `nats://127.0.0.1:${port}`;
  const connectAs = (user: string, pass: string, name = user) =>
    connect({ servers: url, user, pass, name, timeout: 3000, maxReconnectAttempts: 0 });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const nc = await connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD);
      await nc.close();
      break;
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`test nats-server did not start: ${String(e)}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    child,
    stderr: () => err,
    connectAs,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
