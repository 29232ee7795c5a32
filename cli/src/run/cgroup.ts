// The fresh cgroup `sluice run` puts its command in, under the managed scope the policy service
// attached the programs to (/sluice by default): covered by enforcement from the first syscall.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findMount } from '@sluice/runtime';
import { UsageError } from '../command.ts';

export interface RunCgroup {
  /** Absolute path of the cgroup directory. */
  path: string;
  /** Path relative to the cgroup2 mount, as /proc/<pid>/cgroup shows it. */
  relative: string;
  /** The cgroup id the kernel stamps on records (the directory's inode). */
  id: string;
}

export function createRunCgroup(scope: string, name: string): RunCgroup {
  const mount = findMount('cgroup2');
  if (!mount) throw new UsageError('no cgroup2 mount in /proc/self/mountinfo: sluice run needs the unified hierarchy', 1);
  const relative = join(scope, name);
  const path = join(mount, relative);
  if (existsSync(path)) throw new UsageError(`cgroup ${path} already exists`, 1);
  mkdirSync(path, { recursive: true });
  return { path, relative, id: statSync(path, { bigint: true }).ino.toString() };
}

/** Processes still in the cgroup (the command may have left children behind). */
export function members(cg: RunCgroup): number[] {
  return readFileSync(join(cg.path, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number);
}

/** Kill whatever the command left running, then remove the cgroup. */
export async function removeRunCgroup(cg: RunCgroup): Promise<void> {
  if (!existsSync(cg.path)) return;
  if (members(cg).length > 0) {
    // cgroup.kill (5.14+) kills every member atomically, forks in flight included.
    if (existsSync(join(cg.path, 'cgroup.kill'))) writeFileSync(join(cg.path, 'cgroup.kill'), '1');
    else for (const pid of members(cg)) process.kill(pid, 'SIGKILL');
  }
  const deadline = Date.now() + 5000;
  while (members(cg).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  rmdirSync(cg.path);
}

/**
 * argv for a wrapper that moves itself into the cgroup and then execs the command, so not a single
 * instruction of the command runs outside enforcement.
 */
export function inCgroupArgv(cg: RunCgroup, command: string[]): string[] {
  return ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.path, ...command];
}
