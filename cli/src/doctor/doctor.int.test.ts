import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testServer } from '@sluice/testkit';
import type { CheckResult } from './check.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

function doctor(env: Record<string, string>): { code: number | null; results: CheckResult[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'doctor', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, results: JSON.parse(r.stdout) as CheckResult[] };
}

describe('sluice doctor', () => {
  it('sees the real NATS and Redis and the host mounts', () => {
    const { results } = doctor({ NATS_URL: testServer('NATS_URL'), REDIS_URL: testServer('REDIS_URL') });
    const by = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(by.nats?.ok).toBe(true);
    expect(by.redis?.ok).toBe(true);
    expect(by.cgroup2?.ok).toBe(true);
    expect(by.cgroup2?.detail).toMatch(/unified hierarchy at \//);
  });

  it('fails with a fix hint when a server is unreachable', () => {
    const { code, results } = doctor({ NATS_URL: 'nats://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(1);
    const nats = results.find((r) => r.name === 'nats')!;
    expect(nats.ok).toBe(false);
    expect(nats.hint).toBe('scripts/services.sh up nats');
    expect(results.find((r) => r.name === 'redis')!.ok).toBe(false);
  });
});
