// CPU of an OpenSearch JVM split by thread pool: /proc/<pid>/task/*/stat per thread, the names
// from `jcmd <pid> Thread.print` (run as the node's user), pools as OpenSearch names them
// (`write`, `search`, `refresh`, `transport_worker`, …), GC and JIT threads lumped as `gc` / `jit`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const OS_USER = process.env.OPENSEARCH_USER ?? 'sluice-os';
const TICKS = 100; // USER_HZ

export const jcmd = (pid: number, ...args: string[]): string =>
  execFileSync('setpriv', [`--reuid=${OS_USER}`, `--regid=${OS_USER}`, '--clear-groups', 'jcmd', String(pid), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

/** Thread pool of each native thread id: `[write]`, `[refresh]`, `GC`, `C2 compiler`, … */
export function threadPools(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of jcmd(pid, 'Thread.print').matchAll(/^"([^"]+)".*?nid=0x([0-9a-f]+)/gm)) {
    const name = m[1]!;
    const pool = /Lucene Merge Thread/.test(name)
      ? 'merge'
      : (/\]\[([a-z_]+)\]\[T#/.exec(name)?.[1] ?? /\]\[([a-z_]+)\]/.exec(name)?.[1] ?? name.replace(/[#\d ]+$/, '').replace(/Thread#?\d*$/, 'Thread'));
    out.set(Number.parseInt(m[2]!, 16), pool);
  }
  return out;
}

export function taskCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
      out.set(Number(t), (Number(f[11]) + Number(f[12])) / TICKS);
    } catch {
      /* thread exited */
    }
  }
  return out;
}

export function procCpu(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Per-pool CPU between two task snapshots; threads born in between count from zero. */
export function poolDelta(a: Map<number, number>, b: Map<number, number>, pools: Map<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tid, cpu] of b) {
    const d = cpu - (a.get(tid) ?? 0);
    if (d <= 0) continue;
    const pool = pools.get(tid) ?? 'other';
    const key = /^GC|^G1/.test(pool) ? 'gc' : /Compiler/.test(pool) ? 'jit' : pool;
    out[key] = (out[key] ?? 0) + d;
  }
  return out;
}

/** Per-pool CPU-seconds of `pid` between now and the returned function's call. */
export function poolWindow(pid: number): () => Record<string, number> {
  const t0 = taskCpu(pid);
  const pools = threadPools(pid);
  return () => poolDelta(t0, taskCpu(pid), new Map([...pools, ...threadPools(pid)]));
}

/**
 * CPU-seconds so far of the JIT compiler threads of `pid` (`C1/C2 CompilerThreadN`, whose names
 * /proc truncates to "C2 CompilerThre"): no jcmd, so cheap enough to read every few seconds.
 * Compiler threads come and go (UseDynamicNumberOfCompilerThreads); one that exited is not counted.
 */
export function jitCpu(pid: number): number {
  let sum = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!/^C[12] Compiler/.test(readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8'))) continue;
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(') ') + 2).split(' ');
      sum += (Number(f[11]) + Number(f[12])) / TICKS;
    } catch {
      /* thread exited */
    }
  }
  return sum;
}
