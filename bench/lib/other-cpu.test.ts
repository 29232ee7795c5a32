import { describe, expect, it } from 'vitest';
import { otherFigures, otherUse, snapshotProcesses, type ProcCpu } from './other-cpu.ts';

const p = (comm: string, cpuS: number, nice = 0): ProcCpu => ({ comm, cpuS, nice });

describe('other CPU', () => {
  it('names what unknown processes used, niced apart, known ones left out', () => {
    const before = new Map([[1, p('a', 10)], [2, p('sink', 5)], [3, p('tsc', 0, 19)]]);
    const after = new Map([[1, p('a', 12)], [2, p('sink', 9)], [3, p('tsc', 3, 19)], [4, p('new', 1)], [5, p('idle', 0.001)]]);
    const uses = otherUse(before, after, new Set([2]), 10);
    expect(uses.map((u) => [u.comm, u.cores])).toEqual([['tsc', 0.3], ['a', 0.2], ['new', 0.1]]);
    expect(otherFigures('e2e', uses)).toEqual({ 'e2e.other_cpu_cores': 0.3, 'e2e.other_niced_cpu_cores': 0.3 });
  });
  it('reads this process from /proc', () => {
    const me = snapshotProcesses().get(process.pid);
    expect(me?.comm).toMatch(/node|vitest/);
    expect(me!.cpuS).toBeGreaterThan(0);
  });
});
