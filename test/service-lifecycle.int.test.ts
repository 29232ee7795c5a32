// Issue 2: every service starts against the real NATS, reports ready, serves Prometheus metrics,
// and exits 0 promptly on SIGTERM; a bad environment is rejected naming every bad variable.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerSocket, SLUICE_BPF, startService, stopService, testServer, waitFor, type ServiceProcess } from '@sluice/testkit';

const SERVICES = ['bpf-reader', 'attributor', 'policy', 'learner', 'sink'] as const;
const NATS_URL = testServer('NATS_URL');
const running: ServiceProcess[] = [];
// The reader streams a ring buffer: it gets programs and maps of its own, loaded (not attached to
// any cgroup) under a private pin dir, never the pin dir of a Sluice running on this machine.
const PIN = join('/sys/fs/bpf', `sluice-lifecycle-${process.pid}`);

afterAll(async () => {
  for (const p of running) await stopService(p, 5000);
  rmSync(PIN, { recursive: true, force: true });
});

describe.each(SERVICES.map((name, i) => ({ name, port: 19_460 + i })))('$name', ({ name, port }) => {
  it('starts, reports ready, serves /metrics and exits 0 within 5 s of SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
    if (name === 'bpf-reader') execFileSync(SLUICE_BPF, ['--pin', PIN, 'load'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const p = startService(name, {
      NATS_URL,
      // The test run's servers, never a service's default ports (a user's Sluice may be on them).
      REDIS_URL: testServer('REDIS_URL'),
      DOCKER_SOCKET: dockerSocket(),
      METRICS_PORT: String(port),
      NODE_NAME: `lifecycle-${name}`,
      LOG_LEVEL: 'info',
      // Service-specific knobs that keep this test on private state: never the pin dir (ring
      // buffer) or reader state of a Sluice running on this machine.
      SLUICE_BPF_PIN: PIN,
      READER_STATE_DIR: dataDir,
      SINK_DATA_DIR: dataDir,
    });
    running.push(p);
    const health = await waitFor(
      `${name} ready`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.stderr()}`);
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        return r.status === 200 ? ((await r.json()) as { ready: boolean; service: string }) : undefined;
      },
      60_000,
    );
    expect(health).toMatchObject({ ready: true, service: name });

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^# (HELP|TYPE) /m);
    expect(metrics).toContain('target_info');

    const { code, killed } = await stopService(p, 5000);
    expect(killed, `${name} did not exit within 5 s of SIGTERM:\n${p.stderr()}`).toBe(false);
    expect(code).toBe(0);
  });
});

describe('bad environment', () => {
  it('exits non-zero naming every bad variable at once', async () => {
    const p = startService('sink', { METRICS_PORT: 'ninety', LOG_LEVEL: 'loud' });
    const code = await p.exited;
    expect(code).toBe(2);
    const err = p.stderr();
    expect(err).toMatch(/NATS_URL: .*\(missing\)/);
    expect(err).toMatch(/METRICS_PORT: .*\(got "ninety"\)/);
    expect(err).toMatch(/LOG_LEVEL: .*\(got "loud"\)/);
  });
});
