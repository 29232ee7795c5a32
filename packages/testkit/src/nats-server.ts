// A private nats-server with JetStream: its own loopback ports and store directory, so it never
// collides with another test run or with a user's Sluice. Plain, it runs infra/nats/dev.conf the
// way scripts/services.sh does; with `accounts`, the real accounts/permissions config
// (infra/nats/accounts.conf) with the test passwords below. `down`/`up` restart it on the same
// port and store (fault tests), `stop` removes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './free-port.ts';
import { REPO_ROOT } from './repo-paths.ts';

export const TEST_PASSWORDS = {
  SLUICE_OPERATOR_PASSWORD: 'op-secret',
  SLUICE_VIEWER_PASSWORD: 'viewer-secret',
  SLUICE_POLICY_PASSWORD: 'policy-secret',
  SLUICE_LEARNER_PASSWORD: 'learner-secret',
  SLUICE_READER_PASSWORD: 'reader-secret',
  SLUICE_ATTRIBUTOR_PASSWORD: 'attributor-secret',
  SLUICE_SINK_PASSWORD: 'sink-secret',
  SLUICE_OTLP_PASSWORD: 'otlp-secret',
};

export interface TestNats {
  url: string;
  monitorUrl: string;
  stderr: () => string;
  /** With `accounts`: a connection as one of the accounts' users; plain: user/password are ignored. */
  connectAs(user: string, password: string, name?: string): Promise<NatsConnection>;
  /** Stops the server, keeping its port and store. */
  down(): Promise<void>;
  /** Starts it again after `down` and waits until it accepts clients. */
  up(): Promise<void>;
  /** Stops it and deletes its store. */
  stop(): Promise<void>;
}

export async function privateNats(opts: { accounts?: boolean } = {}): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nats-'));
  const port = await freePort();
  const monitorPort = await freePort();
  let config = join(REPO_ROOT, 'infra/nats/dev.conf');
  if (opts.accounts) {
    // `include` is relative to the including file, so the accounts file sits beside it.
    copyFileSync(join(REPO_ROOT, 'infra/nats/accounts.conf'), join(dir, 'accounts.conf'));
    config = join(dir, 'server.conf');
    writeFileSync(config, `jetstream { max_memory_store: 64MB, max_file_store: 4GB }\ninclude ./accounts.conf\n`);
  }
  // Flags override the config file's addresses; nats-server appends "jetstream/" to the store dir.
  const args = ['-c', config, '-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
  const url = `nats://127.0.0.1:${port}`;
  const connectAs = (user: string, pass: string, name = user) =>
    connect({ servers: url, name, timeout: 3000, maxReconnectAttempts: 0, ...(opts.accounts ? { user, pass } : {}) });

  let child: ChildProcess | undefined;
  let err = '';
  const up = async () => {
    const c = spawn('nats-server', args, { env: { ...process.env, ...TEST_PASSWORDS }, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await (await connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD)).close();
        return;
      } catch (e) {
        if (c.exitCode !== null || Date.now() > deadline) throw new Error(`private nats-server did not start: ${String(e)}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const down = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  };
  await up();
  return {
    url,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    stderr: () => err,
    connectAs,
    down,
    up,
    stop: async () => {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private server with the real accounts/permissions config. */
export const startAccountsNats = (): Promise<TestNats> => privateNats({ accounts: true });
