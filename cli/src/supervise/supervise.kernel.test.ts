// `sluice up` supervises the real service processes of the test's private instance: a service
// killed with -9 comes back with a new pid and `status` counts the restart; `down` stops exactly
// what `up` started, services orphaned by a kill -9 of the supervisor included.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instance } from '../local/instance.ts';
import { LOCAL_SERVICES } from '../local/pipeline.ts';
import { alive, instanceProcs } from './instance-procs.ts';
import { readState } from './state.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

function sluice(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Row = { name: string; ready: boolean; pid?: number; restarts: number };
const statusRows = (): Row[] => JSON.parse(sluice('status', '--json').stdout) as Row[];

afterAll(() => {
  sluice('down');
});

describe('sluice up supervision', () => {
  it('refuses to run against the default instance from a test', () => {
    // The suite's private instance is what this file exercises; the user's .run/ must not be it.
    expect(instance.runDir).not.toMatch(/\/\.run\/?$/);
  });

  it('restarts a service killed with kill -9, and status shows the restart', async () => {
    const up = sluice('up', '--timeout', '120');
    expect(up.code, up.stderr).toBe(0);
    const before = statusRows().find((r) => r.name === 'attributor')!;
    expect(before.pid).toBeGreaterThan(1);
    // The pid status shows is the service itself: its command line is the service's main.
    expect(readFileSync(`/proc/${before.pid}/cmdline`, 'utf8')).toContain('services/attributor/dist/main.js');
    process.kill(before.pid!, 'SIGKILL');
    const after = await until('the attributor back and ready', () => {
      const row = statusRows().find((r) => r.name === 'attributor');
      return row && row.ready && row.pid !== before.pid ? row : undefined;
    });
    expect(after.restarts).toBe(before.restarts + 1);
    expect(alive(before.pid!)).toBe(false);
  }, 300_000);

  it('down stops everything up started, services orphaned by a killed supervisor included', async () => {
    const sup = readState(instance.runDir)!.pid;
    const services = statusRows().map((r) => r.pid!);
    expect(services.every((p) => p > 1)).toBe(true);
    process.kill(sup, 'SIGKILL');
    await until('the supervisor gone', () => (alive(sup) ? undefined : true));
    // Orphans keep running without their supervisor (one per local service) …
    expect(services).toHaveLength(LOCAL_SERVICES.length);
    expect(services.filter(alive)).toEqual(services);
    const down = sluice('down');
    expect(down.code, down.stderr).toBe(0);
    // … and down finds them by the instance marker.
    expect(services.filter(alive)).toEqual([]);
    expect(instanceProcs(instance.runDir)).toEqual([]);
  }, 120_000);
});
