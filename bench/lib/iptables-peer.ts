// The iptables + ipset peer of the kernel bench: the approach of the Python firewall seed and of the
// common devcontainer firewall scripts (names resolved at set-up into an ipset, one ACCEPT on a set
// match, REJECT for the rest), matched per cgroup with `-m cgroup --path` so it judges the same
// cgroups Sluice does. Everything lives in private chains and one private set named after this
// process, hooked into OUTPUT by two rules that only the bench's own traffic matches; teardown
// removes exactly those. The machine's own rules (Docker's among them) are never flushed or read.
import { spawnSync } from 'node:child_process';

export interface IptablesPeerSpec {
  /** Unique tag (the bench's pid); names the chains and the set. */
  tag: string;
  /** The one destination the bench connects to, allowed by the set. */
  server: { addr: string; port: number };
  /** Extra allowlist entries besides the server: CIDRs (tcp 443) as the CIDR rules give them. */
  cidrs: string[];
  /** Extra /32 entries: what the host rules' names resolved to when the script ran. */
  hostAddrs: string[];
  /** cgroup v2 paths relative to the cgroup2 root, one per-cgroup rule each, in chain order. */
  cgroups: string[];
}

export function peerNames(tag: string) {
  return { chain: `SLP-${tag}`, policy: `SLP-${tag}-POL`, set: `slp-${tag}` };
}

/** The `ipset restore` input: one hash:net,port set holding the whole allowlist. */
export function ipsetRestoreText(spec: IptablesPeerSpec): string {
  const { set } = peerNames(spec.tag);
  const entries = [
    `${spec.server.addr}/32,tcp:${spec.server.port}`,
    ...spec.cidrs.map((c) => `${c},tcp:443`),
    ...spec.hostAddrs.map((a) => `${a}/32,tcp:443`),
  ];
  const max = Math.max(65536, 2 ** Math.ceil(Math.log2(entries.length + 1)));
  return [`create ${set} hash:net,port family inet maxelem ${max}`, ...entries.map((e) => `add ${set} ${e}`), ''].join('\n');
}

/**
 * The `iptables-restore --noflush` input: only the two private chains. Established traffic is
 * accepted first (as the scripts do), then each managed cgroup jumps to the policy chain, which
 * accepts a set match and rejects the rest; an unmatched cgroup returns to OUTPUT untouched.
 */
export function iptablesRestoreText(spec: IptablesPeerSpec): string {
  const { chain, policy, set } = peerNames(spec.tag);
  for (const p of spec.cgroups) if (/["\s]/.test(p)) throw new Error(`cgroup path ${JSON.stringify(p)} cannot be quoted for iptables`);
  return [
    '*filter',
    `:${chain} - [0:0]`,
    `:${policy} - [0:0]`,
    `-A ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    ...spec.cgroups.map((p) => `-A ${chain} -m cgroup --path "${p}" -j ${policy}`),
    `-A ${policy} -m set --match-set ${set} dst,dst -j ACCEPT`,
    `-A ${policy} -p tcp -j REJECT --reject-with tcp-reset`,
    `-A ${policy} -j REJECT`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The OUTPUT rules that send the bench's traffic (both directions) into the private chain. */
export function hookRules(spec: IptablesPeerSpec): string[][] {
  const { chain } = peerNames(spec.tag);
  const { addr, port } = spec.server;
  return [
    ['-d', `${addr}/32`, '-p', 'tcp', '--dport', String(port), '-j', chain],
    ['-s', `${addr}/32`, '-p', 'tcp', '--sport', String(port), '-j', chain],
  ];
}

function sh(cmd: string, args: string[], input?: string): { code: number; out: string } {
  // A listing of 10k rules is over a megabyte (spawnSync's default buffer).
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function must(cmd: string, args: string[], input?: string): string {
  const r = sh(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.out.trim()}`);
  return r.out;
}

export class IptablesPeer {
  private hooked = false;
  private built = false;
  constructor(readonly spec: IptablesPeerSpec) {}

  /** Creates the set and the chains (unhooked: nothing passes through them yet). */
  setup(): void {
    this.built = true;
    must('ipset', ['restore'], ipsetRestoreText(this.spec));
    must('iptables-restore', ['--noflush'], iptablesRestoreText(this.spec));
  }

  hook(): void {
    if (this.hooked) return;
    for (const r of hookRules(this.spec)) must('iptables', ['-I', 'OUTPUT', '1', ...r]);
    this.hooked = true;
  }

  unhook(): void {
    for (const r of hookRules(this.spec)) while (sh('iptables', ['-C', 'OUTPUT', ...r]).code === 0) must('iptables', ['-D', 'OUTPUT', ...r]);
    this.hooked = false;
  }

  /** Packets that matched the per-cgroup rule of `cgroup` so far (proof the rule really judged it). */
  matched(cgroup: string): number {
    const { chain } = peerNames(this.spec.tag);
    const out = must('iptables', ['-L', chain, '-v', '-x', '-n']);
    const line = out.split('\n').find((l) => l.includes(`cgroup ${cgroup}`) || l.includes(`cgroup "${cgroup}"`));
    if (!line) throw new Error(`no rule for cgroup ${cgroup} in ${chain}:\n${out}`);
    return Number(line.trim().split(/\s+/)[0]);
  }

  teardown(): void {
    this.unhook();
    if (!this.built) return;
    const { chain, policy, set } = peerNames(this.spec.tag);
    for (const c of [chain, policy]) sh('iptables', ['-F', c]);
    for (const c of [chain, policy]) sh('iptables', ['-X', c]);
    sh('ipset', ['destroy', set]);
    this.built = false;
  }
}
