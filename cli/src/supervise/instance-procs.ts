// Every process of one local instance carries SLUICE_INSTANCE=<run dir> in its environment (the
// supervisor sets it, children inherit it), so `down` finds them all — orphans of a killed
// supervisor included — by reading /proc, not by trusting a pid file.
import { readdirSync, readFileSync } from 'node:fs';

export const INSTANCE_MARKER = 'SLUICE_INSTANCE';

export function instanceProcs(runDir: string): number[] {
  const needle = `${INSTANCE_MARKER}=${runDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // environ ends without a trailing NUL after the last variable: add one so the match is exact.
      if (`${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(needle)) pids.push(Number(entry));
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return pids;
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
