import { describe, expect, it } from 'vitest';
import { cgroup2MountFromMountinfo, containerIdFromCgroupPath, inManagedScope, unifiedPathFromProcCgroup } from './cgroup.ts';

const HYBRID = [
  '25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '37 35 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

describe('cgroup2 discovery', () => {
  it('finds the unified mount on a hybrid host', () => {
    expect(cgroup2MountFromMountinfo(HYBRID)).toBe('/sys/fs/cgroup/unified');
  });

  it('finds it on a pure v2 host, and skips bind mounts of a sub-tree', () => {
    const text = [
      '40 30 0:40 /docker/abc /mnt/inner rw - cgroup2 cgroup2 rw',
      '41 30 0:40 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
    ].join('\n');
    expect(cgroup2MountFromMountinfo(text)).toBe('/sys/fs/cgroup');
  });

  it('says undefined on a v1-only host and unescapes octal in paths', () => {
    expect(cgroup2MountFromMountinfo(HYBRID.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'))).toBeUndefined();
    expect(cgroup2MountFromMountinfo('1 2 0:1 / /my\\040cg rw - cgroup2 cgroup2 rw')).toBe('/my cg');
  });

  it('reads the 0:: line of /proc/<pid>/cgroup among v1 lines', () => {
    const text = '12:cpuset:/docker/x\n1:name=systemd:/docker/x\n0::/docker/0123\n';
    expect(unifiedPathFromProcCgroup(text)).toBe('/docker/0123');
    expect(unifiedPathFromProcCgroup('1:name=systemd:/\n')).toBeUndefined();
  });

  it('recognises container cgroups of both Docker drivers', () => {
    const id = 'a'.repeat(64);
    expect(containerIdFromCgroupPath(`/docker/${id}`)).toBe(id);
    expect(containerIdFromCgroupPath(`/system.slice/docker-${id}.scope`)).toBe(id);
    expect(containerIdFromCgroupPath(`/docker/${id}/child`)).toBeUndefined();
    expect(containerIdFromCgroupPath('/user.slice/session-1.scope')).toBeUndefined();
  });
});

describe('inManagedScope', () => {
  it('holds for a scope and its descendants only', () => {
    expect(inManagedScope('/sluice/agents/docker-abc.scope', ['/sluice'])).toBe(true);
    expect(inManagedScope('/sluice', ['/sluice/'])).toBe(true);
    expect(inManagedScope('/sluicex/a', ['/sluice'])).toBe(false);
    expect(inManagedScope('/system.slice/docker-abc.scope', ['/sluice', '/agents'])).toBe(false);
  });
});
