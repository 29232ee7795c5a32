// The attacker as an agent runs: an unprivileged process (uid 65534) inside the sandbox's managed
// cgroup, in a network namespace of its own where ip_unprivileged_port_start is 0 as Docker sets
// it, with either Docker's default capability set or none. The same command without the cgroup is
// the control: it shows the attack works when Sluice is not in the way, so a test cannot pass
// because the attack was impossible to begin with.
import { PROBE, jsonLines, run } from '../kernel/exec.ts';
import { Netns as BaseNetns } from '../kernel/netns.ts';
import { spawnLines, type ProbeProc } from '../kernel/probe-proc.ts';

/** Docker's default capability set (moby's oci/caps/defaults.go). */
export const DOCKER_CAPS = [
  'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'net_bind_service', 'net_raw', 'sys_chroot', 'mknod', 'audit_write', 'setfcap',
];
export type Caps = 'docker' | 'none';
export const CAP_SETS: Caps[] = ['docker', 'none'];

export function setprivArgv(caps: Caps): string[] {
  const list = caps === 'docker' ? `-all,${DOCKER_CAPS.map((c) => `+${c}`).join(',')}` : '-all';
  return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${list}`, `--ambient-caps=${list}`, `--bounding-set=${list}`, '--'];
}

/** argv that joins `cgroup` (as root, before anything else runs), then execs the rest. */
export function inCgroup(cgroup: string, argv: string[]): string[] {
  return ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv];
}

export class Netns extends BaseNetns {
  /** The agent: unprivileged, `caps`, inside `cgroup`, in this namespace. */
  agent(cgroup: string, caps: Caps, ops: (string | number)[]): string[] {
    return inCgroup(cgroup, this.enter([...setprivArgv(caps), PROBE, ...ops.map(String)]));
  }

  /** The control: the same process outside the managed scope. */
  control(caps: Caps, ops: (string | number)[]): string[] {
    return this.enter([...setprivArgv(caps), PROBE, ...ops.map(String)]);
  }
}

export interface Op {
  op: string;
  ok: boolean;
  errno: number;
  error: string;
  cookie: string;
  [k: string]: unknown;
}

export async function exec(argv: string[]): Promise<Op[]> {
  const r = await run(argv[0]!, argv.slice(1));
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return jsonLines<Op>(r.stdout);
}

export function spawn(argv: string[]): ProbeProc {
  return spawnLines(argv[0]!, argv.slice(1));
}
