// The sluice-bpf helper as the policy service uses it: one long-running `apply` (it holds the pin
// directory's writer lock for its whole life, which is what makes this service the node's only
// map writer) and short `dump` runs to read what the maps hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { PolicyMode } from '@sluice/contracts';
import type { z } from 'zod';
import { appendTail, BatchEndLine, DumpLine, OpResultLine, parseHelperLine, STDERR_MAX_CHARS, type DumpMap } from './helper-output.ts';
import { DEFAULT_TIMEOUTS, emptyState, formatOp, type HostMatch, type MapState, type Op } from './model.ts';

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

/** How long one helper run, or one apply batch, may take before it counts as hung. */
export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;

export class HelperTimeoutError extends Error {
  override name = 'HelperTimeoutError';
}

/** One helper invocation to completion, its output collected (stderr: the last 16 KiB). Killed when hung. */
export function run(
  bin: string,
  args: string[],
  timeoutMs = DEFAULT_HELPER_TIMEOUT_MS,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new HelperTimeoutError(`sluice-bpf ${args.filter((a) => !a.startsWith('/')).join(' ')} did not finish within ${timeoutMs} ms; killed`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = appendTail(stderr, d, STDERR_MAX_CHARS)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lines<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseHelperLine(schema, l, what));
}

/** The maps as `sluice-bpf dump` shows them, in the planner's model. */
export async function dumpState(bin: string, pin: string, timeoutMs = DEFAULT_HELPER_TIMEOUT_MS): Promise<MapState> {
  const dump = async <M extends DumpMap>(map: M): Promise<z.output<(typeof DumpLine)[M]>[]> => {
    const r = await run(bin, ['--pin', pin, 'dump', map], timeoutMs);
    if (r.code !== 0) throw new Error(`sluice-bpf dump ${map} failed (${r.code}): ${r.stderr.trim()}`);
    return lines(r.stdout, DumpLine[map], `dump ${map}`) as z.output<(typeof DumpLine)[M]>[];
  };
  const [config, policies, rules, hosts, resolvers, cgroups, bypass] = await Promise.all([
    dump('config'),
    dump('policies'),
    dump('rules'),
    dump('host_rules'),
    dump('resolvers'),
    dump('cgroup_policy'),
    dump('bypass'),
  ]);
  const s = emptyState();
  const c = config[0];
  if (c) {
    s.default = { policy_id: c.default_policy_id, mode: c.default_mode as PolicyMode };
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
        match: h.match as HostMatch,
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
  for (const e of cgroups) s.cgroups.set(e.cgroup_id, { policy_id: e.policy_id, mode: e.mode as PolicyMode });
  for (const b of bypass) s.bypass.set(b.cgroup_id, BigInt(b.expires_boot_ns));
  return s;
}

/** CLOCK_BOOTTIME now, from /proc/uptime (10 ms resolution: enough for bypass expiries). */
export function bootNowNs(): bigint {
  const secs = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
  const [whole, frac = '0'] = secs.split('.');
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

export interface ApplyOptions {
  /** A batch not answered within this is a hung helper: it is killed and the batch fails. */
  timeoutMs?: number;
}

export class ApplySession {
  private buf = '';
  private stderr = '';
  private waiter: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private exitCode: number | null | undefined;
  private readonly timeoutMs: number;

  private constructor(
    readonly child: ChildProcess,
    readonly pin: string,
    opts: ApplyOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
    child.stdin!.on('error', () => {}); // judged by the exit code below
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = appendTail(this.stderr, d, STDERR_MAX_CHARS)));
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
  static async start(bin: string, pin: string, opts: ApplyOptions = {}): Promise<ApplySession> {
    const current = await dumpState(bin, pin, opts.timeoutMs);
    const child = spawn(bin, ['--pin', pin, 'apply'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new ApplySession(child, pin, opts);
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
    const deadline = Date.now() + this.timeoutMs;
    const results: OpResult[] = [];
    for (;;) {
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const end = /^\{"batch"/.test(line);
        try {
          if (end) return { ok: parseHelperLine(BatchEndLine, line, 'apply').ok, results };
          results.push(parseHelperLine(OpResultLine, line, 'apply'));
        } catch (err) {
          // Out of step with the helper: nothing it says later can be matched to a batch.
          this.kill();
          throw err;
        }
      }
      if (!this.alive) throw new Error(`sluice-bpf apply exited (${this.exitCode}) mid-batch: ${this.stderr.trim()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        this.kill();
        throw new HelperTimeoutError(
          `sluice-bpf apply did not answer a batch of ${batch.length} op(s) within ${this.timeoutMs} ms; killed it (the next sync starts a new one)`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = undefined;
    }
  }

  /** A hung or out-of-step helper: end it (its writer lock goes with it) and count the session dead. */
  private kill(): void {
    if (this.exitCode === undefined) this.exitCode = null;
    this.child.kill('SIGKILL');
  }

  /** EOF: the helper finishes and exits; the maps stay as they are (zero-disruption restart). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise<void>((r) => this.child.once('close', () => r()));
    if (this.alive) this.child.stdin!.end();
    await closed;
  }
}
