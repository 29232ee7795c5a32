// The sluice-bpf helper as the policy service uses it: one long-running `apply` (it holds the pin
// directory's writer lock for its whole life, which is what makes this service the node's only
// map writer) and short `dump` runs to read what the maps hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { PolicyMode, Proto } from '@sluice/contracts';
import { DEFAULT_TIMEOUTS, emptyState, formatOp, type HostMatch, type MapState, type Op } from './model.ts';

type DumpRange = { lo: number; hi: number; proto: Proto | 'other'; rule_id: number };

/** Config's ns value in ms; the kernel's 0 means its default. */
const configMs = (ns: string | number | undefined, dflt: number): number => (ns === undefined || BigInt(ns) === 0n ? dflt : Number(BigInt(ns) / 1_000_000n));

/** EXIT_LOCKED in bpf/src/common.h. */
export const EXIT_LOCKED = 3;

export class HelperLockedError extends Error {
  override name = 'HelperLockedError';
}

export interface OpResult {
  line: number;
  op: string;
  ok: boolean;
  error?: string;
}

export interface BatchResult {
  ok: boolean;
  results: OpResult[];
}

/** One helper invocation to completion, its output collected. */
export function run(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lines<T>(text: string, what: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new Error(`${what}: unreadable helper output line ${JSON.stringify(l.slice(0, 200))}`);
      }
    });
}

/** The maps as `sluice-bpf dump` shows them, in the planner's model. */
export async function dumpState(bin: string, pin: string): Promise<MapState> {
  const dump = async <T>(map: string): Promise<T[]> => {
    const r = await run(bin, ['--pin', pin, 'dump', map]);
    if (r.code !== 0) throw new Error(`sluice-bpf dump ${map} failed (${r.code}): ${r.stderr.trim()}`);
    return lines<T>(r.stdout, `dump ${map}`);
  };
  const [config, policies, rules, hosts, resolvers, cgroups, bypass] = await Promise.all([
    dump<{ default_policy_id: number; default_mode: PolicyMode; active_timeout_ns?: string; udp_idle_ns?: string }>('config'),
    dump<{ policy_id: number; loopback: boolean }>('policies'),
    dump<{ policy_id: number; cidr: string; ranges: DumpRange[] }>('rules'),
    dump<{ policy_id: number; match: HostMatch; name_hash: string; ranges: DumpRange[] }>('host_rules'),
    dump<{ policy_id: number; addr: string; rule_id: number }>('resolvers'),
    dump<{ cgroup_id: string; policy_id: number; mode: PolicyMode }>('cgroup_policy'),
    dump<{ cgroup_id: string; expires_boot_ns: string }>('bypass'),
  ]);
  const s = emptyState();
  const c = config[0];
  if (c) {
    s.default = { policy_id: c.default_policy_id, mode: c.default_mode };
    s.timeouts = { active_ms: configMs(c.active_timeout_ns, DEFAULT_TIMEOUTS.active_ms), udp_idle_ms: configMs(c.udp_idle_ns, DEFAULT_TIMEOUTS.udp_idle_ms) };
  }
  const slot = (id: number) => {
    let w = s.written.get(id);
    if (!w) s.written.set(id, (w = { rules: [], resolvers: new Map(), hosts: [] }));
    return w;
  };
  // Closure entries become one pseudo-rule per range: the same decisions, compared by signature.
  for (const r of rules) {
    for (const range of r.ranges) {
      slot(r.policy_id).rules.push({
        rule_id: range.rule_id,
        cidr: r.cidr,
        ports: [{ from: range.lo, to: range.hi }],
        proto: range.proto === 'other' ? 'any' : range.proto,
      });
    }
  }
  // Host entries the same way, keyed by hash (no pattern: the kernel keeps none).
  for (const h of hosts) {
    for (const range of h.ranges) {
      slot(h.policy_id).hosts.push({
        rule_id: range.rule_id,
        match: h.match,
        hash: String(h.name_hash),
        ports: [{ from: range.lo, to: range.hi }],
        proto: range.proto === 'other' ? 'any' : range.proto,
      });
    }
  }
  for (const r of resolvers) slot(r.policy_id).resolvers.set(r.addr, r.rule_id);
  for (const p of policies) {
    const w = slot(p.policy_id);
    s.policies.set(p.policy_id, { loopback: p.loopback, rules: w.rules, resolvers: w.resolvers, hosts: w.hosts });
  }
  for (const e of cgroups) s.cgroups.set(e.cgroup_id, { policy_id: e.policy_id, mode: e.mode });
  for (const b of bypass) s.bypass.set(b.cgroup_id, BigInt(b.expires_boot_ns));
  return s;
}

/** CLOCK_BOOTTIME now, from /proc/uptime (10 ms resolution: enough for bypass expiries). */
export function bootNowNs(): bigint {
  const secs = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
  const [whole, frac = '0'] = secs.split('.');
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

export class ApplySession {
  private buf = '';
  private stderr = '';
  private waiter: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private exitCode: number | null | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly pin: string,
  ) {
    child.stdin!.on('error', () => {}); // judged by the exit code below
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      this.waiter?.();
    });
    child.on('close', (code) => {
      this.exitCode = code;
      this.waiter?.();
    });
  }

  /**
   * Starts `apply` and proves it holds the writer lock by running a no-op batch (re-writing the
   * current default). A second policy service on the node gets HelperLockedError.
   */
  static async start(bin: string, pin: string): Promise<ApplySession> {
    const current = await dumpState(bin, pin);
    const child = spawn(bin, ['--pin', pin, 'apply'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new ApplySession(child, pin);
    try {
      await s.apply([{ op: 'default', policy_id: current.default.policy_id, mode: current.default.mode }]);
    } catch (err) {
      if (s.exitCode === EXIT_LOCKED) throw new HelperLockedError(s.stderr.trim() || `pin dir ${pin} is locked by another writer`);
      throw err;
    }
    return s;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** One batch, ended by `commit`; batches are serialised. */
  apply(batch: Op[]): Promise<BatchResult> {
    const next = this.chain.then(() => this.applyNow(batch));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async applyNow(batch: Op[]): Promise<BatchResult> {
    if (!this.alive) throw new Error(`sluice-bpf apply has exited (${this.exitCode}): ${this.stderr.trim()}`);
    this.child.stdin!.write(`${batch.map(formatOp).join('\n')}\ncommit\n`);
    const results: OpResult[] = [];
    for (;;) {
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        if ('batch' in obj) {
          return { ok: obj.ok === true, results };
        }
        results.push(obj as unknown as OpResult);
      }
      if (!this.alive) throw new Error(`sluice-bpf apply exited (${this.exitCode}) mid-batch: ${this.stderr.trim()}`);
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  /** EOF: the helper finishes and exits; the maps stay as they are (zero-disruption restart). */
  async close(): Promise<void> {
    if (!this.alive) return;
    const closed = new Promise<void>((r) => this.child.once('close', () => r()));
    this.child.stdin!.end();
    await closed;
  }
}
