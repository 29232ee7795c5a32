import { describe, expect, it } from 'vitest';
import { HelperSupervisor, nextBackoff, type HelperExit } from './supervisor.ts';

const o = { backoffMinMs: 100, backoffMaxMs: 1000, stableMs: 10_000 };

describe('supervisor', () => {
  it('backs off while runs are short and resets after a stable run', () => {
    const seq: number[] = [];
    let b = 0;
    for (const ran of [5, 5, 5, 5, 5, 20_000, 5]) seq.push((b = nextBackoff(b, ran, o)));
    expect(seq).toEqual([100, 200, 400, 800, 1000, 100, 200]);
  });

  // A real child process (sh) stands in for the helper: exits, restarts and stderr capture are
  // process mechanics, independent of BPF.
  it('delivers all output, reports the exit with stderr, restarts', async () => {
    const chunks: string[] = [];
    const exits: HelperExit[] = [];
    let starts = 0;
    const sup = new HelperSupervisor(
      { command: 'sh', args: ['-c', 'printf abc; echo "boom" >&2; exit 3'], backoffMinMs: 10, backoffMaxMs: 20, stableMs: 10_000 },
      {
        started: () => starts++,
        data: (d) => chunks.push(d.toString()),
        exited: (e) => exits.push(e),
        spawnFailed: () => {},
      },
    );
    sup.start();
    while (exits.length < 3) await new Promise((r) => setTimeout(r, 10));
    await sup.stop(100);
    expect(starts).toBeGreaterThanOrEqual(3);
    expect(chunks.join('').startsWith('abcabcabc')).toBe(true);
    expect(exits[0]).toMatchObject({ code: 3, signal: null, stderr: 'boom' });
  });

  it('stops a running helper with SIGTERM', async () => {
    const exits: HelperExit[] = [];
    const sup = new HelperSupervisor(
      { command: 'sleep', args: ['30'], backoffMinMs: 10, backoffMaxMs: 20, stableMs: 10_000 },
      { started: () => {}, data: () => {}, exited: (e) => exits.push(e), spawnFailed: () => {} },
    );
    sup.start();
    while (!sup.pid) await new Promise((r) => setTimeout(r, 5));
    await sup.stop(2000);
    expect(exits).toHaveLength(1);
    expect(exits[0]!.signal).toBe('SIGTERM');
    expect(sup.running).toBe(false);
  });

  it('reports a missing binary and keeps retrying', async () => {
    const failures: string[] = [];
    const sup = new HelperSupervisor(
      { command: '/nonexistent/sluice-bpf', args: [], backoffMinMs: 5, backoffMaxMs: 10, stableMs: 10_000 },
      { started: () => {}, data: () => {}, exited: () => {}, spawnFailed: (e) => failures.push(e.message) },
    );
    sup.start();
    while (failures.length < 2) await new Promise((r) => setTimeout(r, 5));
    await sup.stop(100);
    expect(failures[0]).toMatch(/ENOENT/);
  });
});
