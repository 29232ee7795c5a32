// Mount discovery from /proc/self/mountinfo. Hosts differ (pure cgroup v2 at /sys/fs/cgroup,
// hybrid with v2 at /sys/fs/cgroup/unified, bpffs mounted or not), so paths are never hard-coded.
import { readFileSync } from 'node:fs';

export interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    // "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw"
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (fields.length < 5 || !fsType) continue;
    mounts.push({ root: unescape(fields[3]!), mountPoint: unescape(fields[4]!), fsType });
  }
  return mounts;
}

/** First whole-hierarchy mount of `fsType` (a bind mount of a subtree would skew paths). */
export function findMount(fsType: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  return parseMountinfo(mountinfo).find((m) => m.fsType === fsType && m.root === '/')?.mountPoint;
}
