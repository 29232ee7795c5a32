// One kernel-test sandbox: its own pin dir, its own managed-scope cgroup with the programs
// attached, and cleanup of both. Each test file makes one, so files never share maps or hooks.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelCounterName } from '@sluice/contracts';
import { findMount, parseMountinfo } from '@sluice/runtime';
import { HELPER, jsonLines, run, type RunResult } from './exec.ts';
import { RecordStream } from './record-stream.ts';
import { processesUsingPin, staleSandboxTags } from './stale-sandboxes.ts';

/** The cgroup v2 mount, from /proc/self/mountinfo (hybrid hosts mount it at .../unified). */
export function cgroup2Mount(): string {
  const mount = findMount('cgroup2');
  if (!mount) throw new Error('no cgroup2 mount in /proc/self/mountinfo: the kernel tests need cgroup v2');
  return mount;
}

export function bpffsMounted(): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.fsType === 'bpf' && m.mountPoint === '/sys/fs/bpf');
}

/** The kernel tests need root, bpffs and a built helper; fail with a reason rather than skip. */
export function requireKernelEnv(): void {
  if (process.getuid?.() !== 0) throw new Error('kernel tests must run as root (they load BPF programs and create cgroups)');
  if (!bpffsMounted()) throw new Error('bpffs is not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)');
  if (!existsSync(HELPER)) throw new Error(`${HELPER} is missing: run \`pnpm build\` (make -C bpf) first`);
}

/** `sluice-bpf stats` output. */
export interface HelperStats {
  ringbuf_size: number;
  record_size: number;
  record_version: number;
  counters: Record<KernelCounterName, number>;
}

export interface Cgroup {
  path: string;
  id: bigint;
}

export class Sandbox {
  readonly pin: string;
  readonly scope: string;
  /** `load`'s JSON (tamper_guard among it) and its stderr (why the guard is absent), once set up. */
  loaded: { tamper_guard?: string; stderr: string } = { stderr: '' };
  private streams: RecordStream[] = [];
  private cgroups: string[] = [];

  constructor(name: string) {
    const tag = `sluice-test-${name}-${process.pid}`;
    this.pin = `/sys/fs/bpf/${tag}`;
    this.scope = join(cgroup2Mount(), tag);
  }

  /** load + attach the scope; returns the attach output (link ids). */
  async setup(opts: { ringbufSize?: number } = {}): Promise<{ links: Record<string, number> }> {
    requireKernelEnv();
    await this.teardown(); // leftovers of a crashed run with the same pid are unlikely but cheap to clear
    await reapStaleSandboxes();
    const load = await this.helper(['load', ...(opts.ringbufSize ? ['--ringbuf-size', String(opts.ringbufSize)] : [])]);
    if (load.code !== 0) throw new Error(`load failed: ${load.stderr}`);
    this.loaded = { ...(JSON.parse(load.stdout) as { tamper_guard?: string }), stderr: load.stderr };
    mkdirSync(this.scope, { recursive: true });
    const attach = await this.helper(['attach', this.scope]);
    if (attach.code !== 0) throw new Error(`attach failed: ${attach.stderr}`);
    return JSON.parse(attach.stdout) as { links: Record<string, number> };
  }

  helper(args: string[], input?: string): Promise<RunResult> {
    return run(HELPER, ['--pin', this.pin, ...args], input);
  }

  /** A cgroup under the managed scope (nested paths allowed: "a/b"). */
  cgroup(name: string): Cgroup {
    const path = join(this.scope, name);
    mkdirSync(path, { recursive: true });
    this.cgroups.push(path);
    return { path, id: BigInt(statSync(path).ino) };
  }

  /** Runs one apply batch; throws unless every operation was applied. */
  async apply(lines: string[]): Promise<Record<string, unknown>[]> {
    const r = await this.applyRaw(lines);
    const batch = r.results.at(-1);
    if (r.code !== 0 || !batch?.ok) throw new Error(`apply failed (${r.code}): ${r.stdout}${r.stderr}`);
    return r.results;
  }

  async applyRaw(lines: string[]): Promise<RunResult & { results: Record<string, unknown>[] }> {
    const r = await this.helper(['apply'], lines.join('\n') + '\n');
    return { ...r, results: jsonLines(r.stdout) };
  }

  async dump<T = Record<string, unknown>>(map: string): Promise<T[]> {
    const r = await this.helper(['dump', map]);
    if (r.code !== 0) throw new Error(`dump ${map} failed: ${r.stderr}`);
    return jsonLines<T>(r.stdout);
  }

  async stats(): Promise<HelperStats> {
    const r = await this.helper(['stats']);
    if (r.code !== 0) throw new Error(`stats failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as HelperStats;
  }

  stream(counterMs = 100): RecordStream {
    const s = new RecordStream(this.pin, counterMs);
    this.streams.push(s);
    return s;
  }

  async teardown(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.stop('SIGKILL')));
    if (existsSync(this.pin)) {
      if (existsSync(this.scope)) await this.helper(['detach', this.scope]);
      rmSync(this.pin, { recursive: true, force: true });
    }
    // Children before parents; probes have exited, so the cgroups are empty.
    for (const p of [...this.cgroups].sort((a, b) => b.length - a.length)) removeCgroup(p);
    removeCgroup(this.scope);
  }
}

/**
 * Removes what killed runs left (stale-sandboxes.ts): detach the scope, remove the pin dir, then
 * the scope's cgroups (emptied with cgroup.kill: only that run's probes can be in them).
 */
export async function reapStaleSandboxes(): Promise<void> {
  for (const tag of staleSandboxTags()) {
    const pin = `/sys/fs/bpf/${tag}`;
    const scope = join(cgroup2Mount(), tag);
    for (const pid of processesUsingPin(pin)) process.kill(pid, 'SIGKILL');
    if (existsSync(scope)) await run(HELPER, ['--pin', pin, 'detach', scope]);
    rmSync(pin, { recursive: true, force: true });
    removeCgroup(scope);
    process.stderr.write(`sandbox: removed ${tag}, left by a run that is gone\n`);
  }
}

/** rmdir, children first. A cgroup still holding a probe (a test failed mid-way) is emptied with
 * cgroup.kill — only our own probes can be in a test's cgroup — and retried while they exit. */
function removeCgroup(path: string): void {
  if (!existsSync(path)) return;
  for (const e of readdirSync(path, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(path, e.name));
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 100) throw err;
      if (attempt === 0) writeFileSync(join(path, 'cgroup.kill'), '1');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
