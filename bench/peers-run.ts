// `sluice run` vs Anthropic's sandbox-runtime (srt, npm @anthropic-ai/sandbox-runtime; bubblewrap,
// socat and ripgrep from Debian): one command under an allowlist that names one host, the bench's
// own (bench/lib/peer-host.ts: a network namespace behind a veth pair, since srt refuses loopback).
// Same commands under both, run as root by the bench (sluice runs the command as uid 65534):
//   start-up      spawn of the tool → the command's first instruction (`date +%s%N`), median
//   HTTP          1,000 GETs by one curl (URL glob, keep-alive) to the allowed host
//   TCP           1,000 plain TCP connects by bench/lib/tcp-connects.mjs (under srt through its
//                 proxy with CONNECT, the only way out of its sandbox; under Sluice direct)
//   coverage      what the probe's attempts did (let through / stopped) and whether the tool's
//                 own output recorded them (Sluice's exit table; srt's debug log)
// Figures: run.peers.{sluice,srt}.{startup_ms,http_1000_ms,tcp_1000_ms,coverage.*},
//          run.srt_startup_ratio, run.srt_connect_ratio (Sluice over srt; goal ≤ 1.0).
// `sluice run` uses the bench's private instance (test-instance env from scripts/bench.sh); its
// first run brings the pipeline up and is not timed. BENCH_QUICK=1: 3 timed start-ups instead of 7.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROBE } from '../test/kernel/exec.ts';
import { HOST_ADDR, HTTP_PORT, OTHER_PORT, PeerHost, TCP_PORT } from './lib/peer-host.ts';
import { median } from './lib/stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const STARTS = QUICK ? 3 : 7;
const here = import.meta.dirname;
const SRT = resolve(here, 'node_modules/@anthropic-ai/sandbox-runtime/dist/cli.js');
const CLI = resolve(here, '../cli/dist/main.js');
const TCP_CLIENT = resolve(here, 'lib/tcp-connects.mjs');
type Tool = 'sluice' | 'srt';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  t0: number;
  ms: number;
}

function exec(argv: string[], timeoutMs = 300_000): Promise<Ran> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr, t0, ms: Date.now() - t0 });
    });
  });
}

function tools(dir: string): Record<Tool, (cmd: string[], debug?: boolean) => string[]> {
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1
policies:
  - name: peers-run-${process.pid}
    match: { project: peers-run-${process.pid}, agent: bench }
    mode: enforce
    loopback: false
    egress:
      allow:
        - { cidr: ${HOST_ADDR}/32, ports: [${HTTP_PORT}, ${TCP_PORT}], proto: tcp }
`,
  );
  const settings = join(dir, 'srt.json');
  writeFileSync(
    settings,
    JSON.stringify({
      network: { allowedDomains: [`${HOST_ADDR}:${HTTP_PORT}`, `${HOST_ADDR}:${TCP_PORT}`], deniedDomains: [] },
      filesystem: { denyRead: [], allowWrite: [dir], denyWrite: [] },
    }),
  );
  return {
    sluice: (cmd) => [process.execPath, '--enable-source-maps', CLI, 'run', '--project', `peers-run-${process.pid}`, '--agent', 'bench', '--policy', policy, '--user', '65534', '--', ...cmd],
    srt: (cmd, debug) => [process.execPath, SRT, ...(debug ? ['-d'] : []), '--settings', settings, '--', ...cmd],
  };
}

const must = (r: Ran, what: string) => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-1500)}`);
  return r;
};

async function startupMs(argv: string[]): Promise<number> {
  const r = must(await exec(argv), 'start-up run');
  const ns = /(\d{16,})/.exec(r.stdout)?.[1];
  if (!ns) throw new Error(`no start mark in ${JSON.stringify(r.stdout.slice(0, 300))}`);
  return Number(BigInt(ns) / 1_000_000n) - r.t0;
}

async function httpMs(argv: string[]): Promise<number> {
  const r = must(await exec(argv), 'HTTP run');
  const m = /HTTP (\d+) (\d+)/.exec(r.stdout);
  if (!m || Number(m[1]) !== 1000) throw new Error(`HTTP run: ${m ? `${m[1]} of 1000 answered 200` : 'no result'}: ${r.stdout.slice(-500)}${r.stderr.slice(-1000)}`);
  return Number(m[2]) / 1000;
}

async function tcpMs(argv: string[]): Promise<number> {
  const r = must(await exec(argv), 'TCP run');
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"ok"'));
  const j = line ? (JSON.parse(line) as { ok: number; ms: number }) : undefined;
  if (!j || j.ok !== 1000) throw new Error(`TCP run: ${line ?? 'no result'}: ${r.stderr.slice(-1000)}`);
  return j.ms;
}

const dst = (port: number, proto: string, verdict: string) => new RegExp(`(^|\\s)${HOST_ADDR.replace(/\./g, '\\.')}\\S*\\s+${port}\\s+${proto}\\s+${verdict}`);
// srt's proxy logs what it decides (with -d); what never reaches the proxy it cannot see.
const proxyDenied = (port: number) => new RegExp(`Connection blocked to ${HOST_ADDR.replace(/\./g, '\\.')}:${port}\\b`);

/** Each attempt, and how each tool's own output shows it (Sluice: a row of its exit table). */
export const COVERAGE: Array<{ key: string; cmd: string[]; sluice: RegExp; srt: RegExp }> = [
  { key: 'allowed_tcp', cmd: [PROBE, 'connect', HOST_ADDR, String(TCP_PORT)], sluice: dst(TCP_PORT, 'tcp', 'ALLOWED'), srt: new RegExp(`(Allowed by config rule:|Connection blocked to) ${HOST_ADDR.replace(/\./g, '\\.')}:${TCP_PORT}\\b`) },
  { key: 'proxied_denied_tcp', cmd: [process.execPath, TCP_CLIENT, HOST_ADDR, String(OTHER_PORT), '1'], sluice: dst(OTHER_PORT, 'tcp', 'DENIED'), srt: proxyDenied(OTHER_PORT) },
  { key: 'denied_tcp', cmd: [PROBE, 'connect', HOST_ADDR, String(OTHER_PORT)], sluice: dst(OTHER_PORT, 'tcp', 'DENIED'), srt: proxyDenied(OTHER_PORT) },
  { key: 'udp', cmd: [PROBE, 'sendto', HOST_ADDR, String(OTHER_PORT + 1)], sluice: dst(OTHER_PORT + 1, 'udp', 'DENIED'), srt: proxyDenied(OTHER_PORT + 1) },
  { key: 'raw_socket', cmd: [PROBE, 'raw', '4'], sluice: /(^|\s)\S+\s+0\s+\S+\s+DENIED/, srt: /blocked.*raw/i },
  { key: 'dns', cmd: [PROBE, 'resolve', HOST_ADDR, 'unlisted.peers.test', 'a'], sluice: dst(53, 'udp', 'DENIED'), srt: proxyDenied(53) },
];

/** Whether the tool's report shows the attempt: its own lines only, not its echo of the command line. */
export function recorded(stderr: string, row: RegExp): boolean {
  return stderr
    .split('\n')
    .filter((l) => !/running |Original command|Wrapped command/.test(l))
    .some((l) => row.test(l));
}

/** Whether an attempt went through: the probe's JSON line, or tcp-connects' count. */
function passed(stdout: string): boolean {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) return false;
  const j = JSON.parse(line) as { ok: boolean | number };
  return j.ok === true || (typeof j.ok === 'number' && j.ok > 0);
}

async function coverage(tool: Tool, argv: (cmd: string[], debug?: boolean) => string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of COVERAGE) {
    const r = await exec(argv(c.cmd, true));
    out[`run.peers.${tool}.coverage.${c.key}.passed`] = passed(r.stdout) ? 1 : 0;
    out[`run.peers.${tool}.coverage.${c.key}.recorded`] = recorded(r.stderr, c[tool]) ? 1 : 0;
    process.stderr.write(`peers-run: ${tool} ${c.key}: ${r.stdout.trim().split('\n')[0] ?? `no result (exit ${r.code})`}\n`);
  }
  return out;
}

export async function run(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-peers-run-'));
  const host = new PeerHost();
  const out: Record<string, number> = {};
  try {
    await host.start();
    const t = tools(dir);
    const mark = ['sh', '-c', 'date +%s%N'];
    const http = ['bash', '-c', `s=$(date +%s%N); n=$(curl -s -o /dev/null -w '%{http_code}\\n' 'http://${HOST_ADDR}:${HTTP_PORT}/[1-1000]' | grep -c 200); e=$(date +%s%N); echo "HTTP $n $(( (e-s)/1000 ))"`];
    const tcp = [process.execPath, TCP_CLIENT, HOST_ADDR, String(TCP_PORT), '1000'];
    // Warm-up: the first `sluice run` brings the private pipeline up; srt's first run fills caches.
    must(await exec(t.sluice(mark)), 'sluice warm-up');
    must(await exec(t.srt(mark)), 'srt warm-up');
    const starts: Record<Tool, number[]> = { sluice: [], srt: [] };
    for (let i = 0; i < STARTS; i++) {
      for (const tool of (i % 2 ? ['srt', 'sluice'] : ['sluice', 'srt']) as Tool[]) starts[tool].push(await startupMs(t[tool](mark)));
    }
    for (const tool of ['sluice', 'srt'] as Tool[]) {
      out[`run.peers.${tool}.startup_ms`] = Math.round(median(starts[tool]));
      out[`run.peers.${tool}.http_1000_ms`] = Math.round(await httpMs(t[tool](http)));
      out[`run.peers.${tool}.tcp_1000_ms`] = Math.round(await tcpMs(t[tool](tcp)));
      Object.assign(out, await coverage(tool, t[tool]));
    }
    out['run.srt_startup_ratio'] = Number((out['run.peers.sluice.startup_ms']! / out['run.peers.srt.startup_ms']!).toFixed(3));
    out['run.srt_connect_ratio'] = Number((out['run.peers.sluice.tcp_1000_ms']! / out['run.peers.srt.tcp_1000_ms']!).toFixed(3));
    out['run.srt_http_ratio'] = Number((out['run.peers.sluice.http_1000_ms']! / out['run.peers.srt.http_1000_ms']!).toFixed(3));
    process.stderr.write(`peers-run: ${JSON.stringify(out)}\n`);
    return out;
  } finally {
    // `sluice run` left the private pipeline up (as it does for a user); the bench takes it down.
    await exec([process.execPath, CLI, 'down']);
    host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
