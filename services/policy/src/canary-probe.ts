// One canary probe: a child process that runs as an agent runs (moved into its cgroup by the
// wrapper before it execs, unprivileged through setpriv: agent-argv.ts) and connects to each
// target in turn. It reports what it saw and where and as whom it ran, so a probe that did not
// run inside the cgroup, or still held capabilities, is an error and never a verdict.
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { agentArgv, type RunAs } from '@sluice/runtime';
import type { CanaryTarget } from './canary-policy.ts';
import type { Observed } from './canary-judge.ts';

/** The probe's own code (CommonJS, run with `node -e`): no file to resolve, compiled or not. */
const PROBE_SCRIPT = `
const net = require('node:net');
const fs = require('node:fs');
const targets = JSON.parse(process.argv[1]);
const timeoutMs = Number(process.argv[2]);
const status = fs.readFileSync('/proc/self/status', 'utf8');
const field = (k) => (status.match(new RegExp('^' + k + ':\\\\s*(\\\\S+)', 'm')) || [])[1] || '';
const cgroup = (fs.readFileSync('/proc/self/cgroup', 'utf8').split('\\n').find((l) => l.startsWith('0::')) || '').slice(3);
const one = (t) => new Promise((resolve) => {
  const s = net.connect({ host: t.dst, port: t.port });
  const timer = setTimeout(() => { s.destroy(); resolve('ETIMEDOUT'); }, timeoutMs);
  s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve('connected'); });
  s.once('error', (e) => { clearTimeout(timer); resolve(e.code || String(e.message)); });
});
(async () => {
  const got = [];
  for (const t of targets) got.push(await one(t));
  process.stdout.write(JSON.stringify({ uid: process.getuid(), cgroup, cap_eff: field('CapEff'), no_new_privs: field('NoNewPrivs'), got }));
})();
`;

const ProbeReport = z.object({
  uid: z.number(),
  cgroup: z.string(),
  cap_eff: z.string(),
  no_new_privs: z.string(),
  got: z.array(z.string()),
});

export interface ProbeSpec {
  /** Absolute path of the cgroup directory the probe runs in. */
  cgroupPath: string;
  /** The same path relative to the cgroup2 mount, as /proc/self/cgroup shows it. */
  cgroupRelative: string;
  runAs: RunAs;
  /** The sluice-bpf helper, to start the probe under `nobpf` (bpf() refused) as agents are. */
  nobpf?: string | undefined;
  targets: CanaryTarget[];
  /** Per connect; the whole probe (node start included) gets this plus a start-up allowance. */
  connectTimeoutMs: number;
}

export type ProbeResult = { ok: true; got: Observed[] } | { ok: false; error: string };

const STARTUP_ALLOWANCE_MS = 10_000;

export function runProbe(spec: ProbeSpec): Promise<ProbeResult> {
  const command = [process.execPath, '-e', PROBE_SCRIPT, JSON.stringify(spec.targets), String(spec.connectTimeoutMs)];
  const argv = ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', spec.cgroupPath, ...agentArgv(command, spec.runAs, { nobpf: spec.nobpf })];
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const limit = spec.connectTimeoutMs * spec.targets.length + STARTUP_ALLOWANCE_MS;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `cannot start the probe: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = signal === 'SIGKILL' ? `killed after ${limit} ms` : `exit ${code ?? signal}`;
        return resolve({ ok: false, error: `probe ${why}: ${err.trim().split('\n').slice(-2).join(' ') || 'no output'}` });
      }
      resolve(checkReport(out, spec));
    });
  });
}

/**
 * /proc/self/cgroup shows the path relative to the reader's cgroup namespace root: the probe of a
 * policy service in a container of its own sees `/../../sluice/canary` (root elsewhere) or
 * `/canary` (root at /sluice). Either names the same directory when its tail is the host path's.
 */
export function sameCgroup(reported: string, relative: string): boolean {
  const tail = reported.replace(/^(\/\.\.)+/, '');
  return tail === relative || (tail.length > 1 && tail.startsWith('/') && relative.endsWith(tail));
}

/** A report counts only from the right cgroup, as the right user, with no capabilities left. */
export function checkReport(out: string, spec: Pick<ProbeSpec, 'cgroupRelative' | 'runAs' | 'targets'>): ProbeResult {
  let r;
  try {
    r = ProbeReport.safeParse(JSON.parse(out));
  } catch {
    return { ok: false, error: `probe output is not JSON: ${out.slice(0, 200)}` };
  }
  if (!r.success) return { ok: false, error: `probe output malformed: ${r.error.issues[0]?.message}` };
  const p = r.data;
  if (!sameCgroup(p.cgroup, spec.cgroupRelative)) return { ok: false, error: `probe ran in cgroup ${p.cgroup}, not ${spec.cgroupRelative}` };
  if (p.uid !== spec.runAs.uid) return { ok: false, error: `probe ran as uid ${p.uid}, not ${spec.runAs.uid}` };
  if (!/^0+$/.test(p.cap_eff) || p.no_new_privs !== '1') {
    return { ok: false, error: `probe was not unprivileged (CapEff ${p.cap_eff}, NoNewPrivs ${p.no_new_privs})` };
  }
  if (p.got.length !== spec.targets.length) return { ok: false, error: `probe reported ${p.got.length} results for ${spec.targets.length} targets` };
  return { ok: true, got: p.got };
}
