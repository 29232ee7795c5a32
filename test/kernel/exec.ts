// Running the helper and the probe as child processes, asynchronously so a stream reader in the
// same event loop keeps draining while they run.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const BPF_BUILD = resolve(import.meta.dirname, '../../bpf/build');
export const HELPER = resolve(BPF_BUILD, 'sluice-bpf');
export const PROBE = resolve(BPF_BUILD, 'probe');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
    if (input !== undefined) {
      child.stdin!.on('error', () => {}); // a child that exits without reading is judged by its exit code
      child.stdin!.end(input);
    }
  });
}

/** Parses one JSON object per non-empty line. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export interface ProbeResult {
  op: string;
  ok: boolean;
  errno: number;
  error: string;
  cookie: string;
  pid: number;
}

export interface ProbeCounts {
  op: 'loop' | 'paced' | 'burst';
  total: number;
  outcomes: Record<string, number>;
  pid: number;
}

/** Runs the probe inside `cgroup`; every argument group is one operation (see bpf/test/probe.c). */
export async function probe<T = ProbeResult>(cgroup: string, ...ops: (string | number)[]): Promise<T[]> {
  const r = await run(PROBE, ['--cgroup', cgroup, ...ops.map(String)]);
  if (r.code !== 0) throw new Error(`probe failed (${r.code}): ${r.stderr}`);
  return jsonLines<T>(r.stdout);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function until<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
