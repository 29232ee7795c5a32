import { describe, expect, it } from 'vitest';
import { findMount, parseMountinfo } from './mounts.ts';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
50 23 0:40 / /sys/fs/bpf rw,relatime - bpf bpf rw
51 23 0:41 /sub /mnt/with\\040space rw - cgroup2 cgroup2 rw`;

describe('mountinfo', () => {
  it('finds cgroup2 on a hybrid host and bpffs', () => {
    expect(findMount('cgroup2', HYBRID)).toBe('/sys/fs/cgroup/unified');
    expect(findMount('bpf', HYBRID)).toBe('/sys/fs/bpf');
    expect(findMount('cgroup2', HYBRID.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
  });

  it('unescapes octal sequences and keeps subtree roots', () => {
    const m = parseMountinfo(HYBRID).at(-1)!;
    expect(m).toEqual({ root: '/sub', mountPoint: '/mnt/with space', fsType: 'cgroup2' });
  });
});
