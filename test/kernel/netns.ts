// A network namespace of a test's own: loopback up, test addresses on it (fd00::11, fd00::66,
// 192.0.2.66), and
// ip_unprivileged_port_start=0 as Docker sets it in every container. Processes enter it with
// nsenter (network only, so /sys/fs/cgroup stays visible to join a cgroup first).
import { PROBE, run, type RunResult } from './exec.ts';

export class Netns {
  readonly name: string;
  readonly path: string;

  constructor(tag: string) {
    this.name = `sluice-test-${tag}-${process.pid}`;
    this.path = `/run/netns/${this.name}`;
  }

  async create(): Promise<void> {
    await this.destroy();
    await must('ip', ['netns', 'add', this.name]);
    await must('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    for (const a of ['fd00::11', 'fd00::66']) await must('ip', ['-n', this.name, '-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
    // A non-loopback IPv4 address (TEST-NET-1), local to this namespace only: a policy that allows
    // loopback still judges it by its rules.
    await must('ip', ['-n', this.name, 'addr', 'add', '192.0.2.66/32', 'dev', 'lo']);
    // As Docker sets it in every container: any uid may bind any port, 53 included.
    await must('nsenter', [`--net=${this.path}`, '--', 'sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0']);
  }

  async destroy(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]);
  }

  /** argv entering this namespace (network only: /sys/fs/cgroup stays visible). */
  enter(argv: string[]): string[] {
    return ['nsenter', `--net=${this.path}`, '--', ...argv];
  }

  /** Root, outside the scope, in this namespace: servers, sniffers, the off-path forger. */
  root(ops: (string | number)[]): string[] {
    return this.enter([PROBE, ...ops.map(String)]);
  }

  /** Runs a command in this namespace (as root); throws unless it exits 0. */
  async sh(cmd: string, args: string[]): Promise<RunResult> {
    return must('nsenter', [`--net=${this.path}`, '--', cmd, ...args]);
  }
}

async function must(cmd: string, args: string[]): Promise<RunResult> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}
