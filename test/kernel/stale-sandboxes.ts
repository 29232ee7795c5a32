// Sandboxes a killed run left behind. A test or bench process that dies without its teardown (kill,
// Ctrl-C, an out-of-time CI job) leaves its pin dir with programs attached to its scope cgroup;
// the next run's setup removes those whose owner is gone, so nothing piles up in /sys/fs/bpf.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** `sluice-test-<name>-<pid>`: a sandbox's tag; the test instance's own `sluice-test-<hash>` has no pid. */
const TAG = /^sluice-test-.+-(\d+)$/;

/** The tags in `names` whose owning pid is not alive. */
export function staleTags(names: readonly string[], alive: (pid: number) => boolean): string[] {
  return names.filter((n) => {
    const m = TAG.exec(n);
    return m !== null && !alive(Number(m[1]));
  });
}

export function pidAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Stale sandbox tags under bpffs now. */
export function staleSandboxTags(): string[] {
  return existsSync('/sys/fs/bpf') ? staleTags(readdirSync('/sys/fs/bpf'), pidAlive) : [];
}

/** Processes still holding `pin` (`sluice-bpf --pin <pin> stream` of a reader orphaned by the kill). */
export function processesUsingPin(pin: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--pin');
      if (at >= 0 && args[at + 1] === pin) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
