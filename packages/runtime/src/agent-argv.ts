// How a process is started as an agent should run, not as the root that launched it: without the
// capabilities that would let it leave or blind enforcement (move its cgroup, load or detach BPF,
// reconfigure the network, open raw sockets, trace or load code into others) in its bounding and
// ambient sets, with no_new_privs (no setuid binary gives them back), optionally as another user.
// util-linux setpriv does it just before exec. With `nobpf` (the sluice-bpf helper) the whole chain
// also runs under a seccomp filter refusing bpf(), as Docker's default profile does: where the
// kernel's tamper guard (bpf/tamper.bpf.c) is absent, a root agent could otherwise open the pinned
// links and detach enforcement (it owns the pins; CAP_DAC_OVERRIDE would do too). Shared by `sluice run` and the policy service's
// enforcement canary, so the canary probes exactly the path an agent takes.

/** Dropped from the bounding and ambient sets of every agent-like process. */
export const DROPPED_CAPS = ['sys_admin', 'net_admin', 'net_raw', 'bpf', 'sys_ptrace', 'sys_module'] as const;

export interface RunAs {
  uid: number;
  gid: number;
  /** A passwd name: supplementary groups from /etc/group; absent: none. */
  user?: string | undefined;
}

export interface AgentArgvOptions {
  /** The sluice-bpf helper: wrap everything in `sluice-bpf nobpf` (bpf() refused with EPERM). */
  nobpf?: string | undefined;
}

/** argv that drops the capabilities, sets no_new_privs, switches user, then execs `command`. */
export function agentArgv(command: string[], runAs: RunAs | undefined, opts: AgentArgvOptions = {}): string[] {
  const drop = DROPPED_CAPS.map((c) => `-${c}`).join(',');
  const who = runAs ? [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, runAs.user ? '--init-groups' : '--clear-groups'] : [];
  const setpriv = ['setpriv', '--no-new-privs', `--bounding-set=${drop}`, `--inh-caps=${drop}`, '--ambient-caps=-all', ...who, '--', ...command];
  // The helper runs first, as root, before the user switch: the filter is then inherited by setpriv
  // and everything it starts, and the helper's path need not be reachable by the agent's user.
  return opts.nobpf ? [opts.nobpf, 'nobpf', '--', ...setpriv] : setpriv;
}
