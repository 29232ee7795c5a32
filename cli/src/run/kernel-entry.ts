// Fail closed means a fresh cgroup is denied everything until the policy service has installed its
// entry; `sluice run` waits for that entry (read with `sluice-bpf dump`, which takes no lock)
// before it starts the command, so the command never meets a half-set-up sluice.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function cgroupEntry(helper: string, pin: string, cgroupId: string): Promise<{ policy_id: number; mode: string } | undefined> {
  const { stdout } = await exec(helper, ['--pin', pin, 'dump', 'cgroup_policy'], { maxBuffer: 64 << 20 });
  for (const line of stdout.split('\n')) {
    if (!line.includes(`"${cgroupId}"`)) continue;
    const e = JSON.parse(line) as { cgroup_id: string; policy_id: number; mode: string };
    if (e.cgroup_id === cgroupId) return e;
  }
  return undefined;
}

export async function waitForEntry(
  helper: string,
  pin: string,
  cgroupId: string,
  want: (e: { policy_id: number; mode: string }) => boolean,
  timeoutMs: number,
): Promise<{ policy_id: number; mode: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: { policy_id: number; mode: string } | undefined;
  while (Date.now() < deadline) {
    last = await cgroupEntry(helper, pin, cgroupId);
    if (last && want(last)) return last;
    // Short: the entry usually lands within a few ms of the policy reply, and the command waits on it.
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(
    `the policy service did not install an entry for cgroup ${cgroupId} within ${timeoutMs} ms (last seen: ${
      last ? JSON.stringify(last) : 'none'
    }); see sluice status`,
  );
}
