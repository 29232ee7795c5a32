// runService on a real NATS (NATS_URL): an unhandled rejection stops the service through its
// shutdown steps with exit code 1, instead of being logged while the process runs on.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The test run's private NATS (scripts/test.sh exports it); never a default port a user's Sluice may own. */
function natsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) throw new Error('NATS_URL is not set: run the tests through scripts/test.sh (its private instance)');
  return url;
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

describe('runService', () => {
  it('an unhandled rejection stops the service with exit code 1, through its shutdown steps', async () => {
    const script = fileURLToPath(new URL('../test/rejecting-service.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { PATH: process.env.PATH, NATS_URL: natsUrl(), METRICS_PORT: String(await freePort()), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    const logs = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } });
    const fatal = logs.find((l) => l.msg === 'unhandled rejection; stopping');
    expect(fatal, stderr).toMatchObject({ level: 60, err: { message: 'a loop nobody supervises failed' } });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['ready', 'own stop step ran', 'stopped']));
    expect(code).toBe(1);
  });
});
