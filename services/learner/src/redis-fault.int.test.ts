// Redis going away mid-session: the learner stays up, says it is not ready, naks what it cannot
// record, and once Redis is back (same data, append-only file) the diff is the complete one.
// A private redis-server on a free port, so the shared one is never disturbed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { attempt, freePort, learnerHarness, type LearnerHarness, waitFor } from '@sluice/testkit';

let h: LearnerHarness;
let port: number;
let dir: string;
let server: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], {
    stdio: 'ignore',
  });
  await waitFor('private redis-server', async () => {
    const { Redis } = await import('ioredis');
    const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {}); // refused while the server starts: the probe's answer, not a failure
    try {
      await c.connect();
      return (await c.ping()) === 'PONG' ? true : undefined;
    } finally {
      c.disconnect();
    }
  });
}

async function stopRedis(): Promise<void> {
  if (!server || server.exitCode !== null) return;
  server.kill('SIGKILL');
  await once(server, 'exit');
}

beforeAll(async () => {
  port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'learner-redis-'));
  await startRedis();
  h = await learnerHarness('redisfault', { REDIS_URL: `redis://127.0.0.1:${port}` });
});

afterAll(async () => {
  await h?.close();
  await stopRedis();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ready = async (p: number) => (await (await fetch(`http://127.0.0.1:${p}/readyz`)).json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };

describe('learner with Redis restarting mid-session', () => {
  it('degrades while Redis is away and loses nothing', async () => {
    const learner = await h.spawn();
    const mport = h.portOf.get(learner)!;
    expect((await h.request('start', { project: h.project, actor: 'test' })).ok).toBe(true);
    const a = (host: string, port: number) => attempt(h.run, h.project, 'bot', { host, ip: '10.96.0.1', port });
    await h.publish('bot', [a('one.fault.test', 443), a('two.fault.test', 443)]);
    await h.drained();

    await stopRedis();
    await h.publish('bot', [a('three.fault.test', 443), a('one.fault.test', 8443)]);
    const degraded = await waitFor('learner not ready', async () => {
      const r = await ready(mport);
      return r.ready ? undefined : r;
    });
    expect(degraded.checks.redis?.ok).toBe(false);
    expect(learner.child.exitCode).toBeNull();

    await startRedis();
    await waitFor('learner ready again', async () => ((await ready(mport)).ready ? true : undefined));
    await h.drained();
    const diff = await h.request('diff', { project: h.project });
    expect(diff.ok, JSON.stringify(diff.error)).toBe(true);
    expect(parse(diff.result.yaml).add.map((x: any) => [x.host, x.ports])).toEqual([
      ['one.fault.test', [443, 8443]],
      ['three.fault.test', [443]],
      ['two.fault.test', [443]],
    ]);
  });
});
