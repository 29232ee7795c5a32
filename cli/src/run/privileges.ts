// How `sluice run` starts the command: as an agent should run, not as the root that launched it.
// The command loses the capabilities that would let it leave or blind enforcement (move its
// cgroup, load or detach BPF, reconfigure the network, open raw sockets, trace or load code into
// others) from its bounding and ambient sets, gets no_new_privs (no setuid binary gives them
// back), and runs as the invoking user when `sluice run` was started through sudo, or as
// --user. setpriv (util-linux) does it between the cgroup join and the command's exec
// (@sluice/runtime agent-argv.ts, shared with the policy service's enforcement canary).
import { readFileSync } from 'node:fs';
import type { RunAs } from '@sluice/runtime';
import { UsageError } from '../command.ts';

export { DROPPED_CAPS, agentArgv, type RunAs } from '@sluice/runtime';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

/**
 * Who the command runs as: --user (a name or a uid from passwd), else the sudo caller
 * (SUDO_UID/SUDO_GID), else unchanged (undefined: whoever runs sluice).
 */
export function resolveRunAs(user: string | undefined, env: NodeJS.ProcessEnv, passwd: PasswdEntry[]): RunAs | undefined {
  if (user !== undefined) {
    const e = passwd.find((p) => p.name === user || (/^\d+$/.test(user) && p.uid === Number(user)));
    if (!e) throw new UsageError(`--user ${user}: no such user in /etc/passwd`);
    return { uid: e.uid, gid: e.gid, user: e.name };
  }
  const uid = env.SUDO_UID;
  if (uid === undefined || !/^\d+$/.test(uid) || Number(uid) === 0) return undefined;
  const gid = env.SUDO_GID !== undefined && /^\d+$/.test(env.SUDO_GID) ? Number(env.SUDO_GID) : Number(uid);
  return { uid: Number(uid), gid, user: passwd.find((p) => p.uid === Number(uid))?.name };
}

export function readPasswd(file = '/etc/passwd'): PasswdEntry[] {
  try {
    return parsePasswd(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}
