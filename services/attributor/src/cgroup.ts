// Cgroup v2 ids as the kernel reports them (bpf_get_current_cgroup_id): the inode number of the
// cgroup's directory in the cgroup2 mount. The mount point differs per host (/sys/fs/cgroup on
// pure v2, /sys/fs/cgroup/unified on hybrid hosts), so it is always read from mountinfo.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findMount } from '@sluice/runtime';

/** The cgroup2 mount point from /proc/self/mountinfo text (the runtime's mountinfo parser). */
export function cgroup2MountFromMountinfo(text: string): string | undefined {
  return findMount('cgroup2', text);
}

/** The unified-hierarchy path from /proc/<pid>/cgroup text (the `0::` line). */
export function unifiedPathFromProcCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('0::')) {
      const path = line.slice(3).trim();
      return path.length > 0 ? path : undefined;
    }
  }
  return undefined;
}

const DOCKER_PATH = /(?:^|\/)(?:docker[-/])([0-9a-f]{64})(?:\.scope)?$/;

/** Container id from a cgroupfs (`/docker/<id>`) or systemd (`docker-<id>.scope`) cgroup path. */
export function containerIdFromCgroupPath(path: string): string | undefined {
  return DOCKER_PATH.exec(path)?.[1];
}

export class CgroupError extends Error {
  override name = 'CgroupError';
}

export async function findCgroup2Mount(mountinfoPath = '/proc/self/mountinfo'): Promise<string> {
  const mount = cgroup2MountFromMountinfo(await readFile(mountinfoPath, 'utf8'));
  if (!mount) throw new CgroupError(`no cgroup2 mount in ${mountinfoPath}: Sluice needs the unified hierarchy`);
  return mount;
}

/** Inode of a cgroup directory as a u64 decimal string. */
export async function cgroupIdOfPath(mount: string, path: string): Promise<string> {
  const st = await stat(join(mount, path), { bigint: true });
  if (!st.isDirectory()) throw new CgroupError(`${join(mount, path)} is not a cgroup directory`);
  return st.ino.toString();
}

/** Is `path` (relative to the cgroup2 mount) one of the managed scopes or below one? */
export function inManagedScope(path: string, scopes: string[]): boolean {
  const norm = (p: string) => `/${p.replace(/^\/+|\/+$/g, '')}`;
  const p = norm(path);
  return scopes.some((s) => norm(s) === '/' || p === norm(s) || p.startsWith(`${norm(s)}/`));
}

export interface ResolvedCgroup {
  path: string;
  id: string;
}

/**
 * Cgroup of a running pid. Undefined when the pid is gone (a short-lived container can exit
 * between its start event and our read): the caller falls back to the conventional path or a scan.
 */
export async function cgroupOfPid(mount: string, pid: number): Promise<ResolvedCgroup | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const path = unifiedPathFromProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
    if (!path) return undefined;
    return { path, id: await cgroupIdOfPath(mount, path) };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** Where Docker puts a container's cgroup with the cgroupfs and the systemd drivers. */
export async function conventionalCgroup(mount: string, containerId: string): Promise<ResolvedCgroup | undefined> {
  for (const path of [`/docker/${containerId}`, `/system.slice/docker-${containerId}.scope`]) {
    try {
      return { path, id: await cgroupIdOfPath(mount, path) };
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  return undefined;
}

export function isGone(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

/** Every cgroup directory under the mount: inode → path (relative to the mount, leading "/"). */
export async function scanCgroupTree(mount: string, maxDirs = 200_000): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const queue: string[] = ['/'];
  while (queue.length > 0 && out.size < maxDirs) {
    const rel = queue.pop()!;
    let entries;
    try {
      entries = await readdir(join(mount, rel), { withFileTypes: true });
      out.set((await stat(join(mount, rel), { bigint: true })).ino.toString(), rel);
    } catch (err) {
      if (isGone(err)) continue; // removed while we walked
      throw err;
    }
    for (const e of entries) if (e.isDirectory()) queue.push(rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
  }
  return out;
}
