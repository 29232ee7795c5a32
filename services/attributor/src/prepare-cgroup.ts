// Closing the start race. A container in the managed scope is denied everything until the policy
// service has installed its cgroup's entry (fail closed), and an agent whose entrypoint connects at
// once (git clone, npm install) used to meet that window every time. At Docker's `create` event —
// before the container's process exists — we know its labels and the cgroup runc will use
// (cgroupfs driver: <CgroupParent>/<id>), so we create that cgroup now and announce it: the policy
// service installs the entry while Docker is still setting up, and the sluice-runc runtime wrapper
// (infra/runtime/sluice-runc) holds runc's `create` until the entry is there.
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The cgroup path runc will create for a container (relative to the cgroup2 mount). */
export function plannedCgroupPath(containerId: string, cgroupParent: string | undefined): string | undefined {
  const parent = (cgroupParent ?? '').trim();
  // systemd-driver parents ("slice:prefix:name") put the container elsewhere: not ours to plan.
  if (parent.includes(':') || parent.endsWith('.slice')) return undefined;
  const base = parent === '' ? '/docker' : `/${parent.replace(/^\/+|\/+$/g, '')}`;
  if (base.split('/').includes('..')) return undefined;
  return `${base}/${containerId}`;
}

/** Is `path` one of the managed scopes or below one? */
export function inScope(path: string, scopes: readonly string[]): boolean {
  return scopes.some((s) => {
    const scope = s.replace(/\/+$/, '') || '/';
    return path === scope || path.startsWith(`${scope}/`);
  });
}

/** Creates the container's cgroup ahead of runc (which accepts an existing one). */
export async function precreateCgroup(mount: string, path: string): Promise<void> {
  await mkdir(join(mount, path), { recursive: true });
}

/** A created-but-never-started container was removed: its empty cgroup goes too. */
export async function removePrecreated(mount: string, path: string): Promise<void> {
  try {
    await rmdir(join(mount, path));
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Gone already (runc removes it at stop), or still in use: neither is ours to force.
    if (code !== 'ENOENT' && code !== 'EBUSY') throw err;
  }
}
