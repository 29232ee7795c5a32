// What else ran on the machine during a measured window, by process: "everything else" in a CPU
// account, named. Helpers' builds and profiles on a shared 2-core machine showed up as 0.7 cores
// nobody accounted for; with names, a contaminated run says so. Niced work is listed apart: it
// fills idle time rather than taking it (weight 15 against 1024), but it still warms the caches.
import { readdirSync, readFileSync } from 'node:fs';
import { parseStat } from './proc.ts';

export interface ProcCpu {
  comm: string;
  nice: number;
  cpuS: number;
}

/** utime + stime, comm and nice of every process now (those that vanish while read are skipped). */
export function snapshotProcesses(): Map<number, ProcCpu> {
  const out = new Map<number, ProcCpu>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), parseStat(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

export interface OtherUse {
  pid: number;
  comm: string;
  nice: number;
  cores: number;
}

/**
 * The processes outside `known` that used the most CPU between two snapshots, in cores over
 * `seconds`, at least `min` cores each. A process born in the window counts from zero; one that
 * exited in it is lost (its parent's reaped children's time is not split by child).
 */
export function otherUse(before: Map<number, ProcCpu>, after: Map<number, ProcCpu>, known: ReadonlySet<number>, seconds: number, min = 0.02): OtherUse[] {
  const out: OtherUse[] = [];
  for (const [pid, a] of after) {
    if (known.has(pid)) continue;
    const used = a.cpuS - (before.get(pid)?.cpuS ?? 0);
    if (used / seconds >= min) out.push({ pid, comm: a.comm, nice: a.nice, cores: used / seconds });
  }
  return out.sort((x, y) => y.cores - x.cores);
}

/** `e2e.other.*` figures: cores of unknown processes at normal priority and niced. */
export function otherFigures(prefix: string, uses: readonly OtherUse[]): Record<string, number> {
  const sum = (xs: readonly OtherUse[]) => Number(xs.reduce((a, u) => a + u.cores, 0).toFixed(3));
  return { [`${prefix}.other_cpu_cores`]: sum(uses.filter((u) => u.nice <= 0)), [`${prefix}.other_niced_cpu_cores`]: sum(uses.filter((u) => u.nice > 0)) };
}

export const describeOthers = (uses: readonly OtherUse[], top = 5): string =>
  uses
    .slice(0, top)
    .map((u) => `${u.comm}[${u.pid}]${u.nice > 0 ? ` nice ${u.nice}` : ''} ${u.cores.toFixed(2)}`)
    .join(', ');
