// Process figures read from /proc: CPU time and resident memory of one pid (children excluded,
// so a service's figure does not include the helper it spawns unless asked for).
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** A `/proc/<pid>/stat` line: comm, nice and utime + stime in seconds. */
export function parseStat(stat: string): { comm: string; nice: number; cpuS: number } {
  // comm may hold spaces or ')': the fields after it start past the last ') '.
  const close = stat.lastIndexOf(') ');
  const f = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), nice: Number(f[16]), cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
}

/** utime + stime of `pid`, in seconds. */
export function cpuSeconds(pid: number): number {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuS;
}

/**
 * utime + stime of `pid`'s main thread, in seconds: the thread JavaScript runs on, the only one a
 * V8 CPU profile samples. The rest of cpuSeconds(pid) is its other threads: V8's garbage-collector
 * and compiler helpers, libuv's pool.
 */
export function mainThreadCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
}

/** Resident set size of `pid`, in MiB. */
export function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status (process gone?)`);
  return Number(kb) / 1024;
}

/** Peak resident set size of `pid` so far (VmHWM), in MiB. */
export function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status (process gone?)`);
  return Number(kb) / 1024;
}

/** CPU seconds of this process's exited, waited-for children (cutime + cstime): the probes it ran. */
export function reapedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_S;
}

/** Machine-wide busy CPU seconds so far (all cores; everything but idle and iowait). */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_S;
}
