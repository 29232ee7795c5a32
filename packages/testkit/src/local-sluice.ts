// The `sluice` CLI of this checkout, run as an operator runs it, against the private instance the
// environment names (scripts/test.sh / scripts/bench.sh export it): never the user's .run/.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-paths.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliArgv(args: string[]): string[] {
  if (!process.env.SLUICE_RUN_DIR || !process.env.SLUICE_PRIVATE_SERVERS) {
    throw new Error('sluiceCli: no private instance in the environment (SLUICE_RUN_DIR, SLUICE_PRIVATE_SERVERS): run through scripts/test.sh or pnpm bench');
  }
  return ['--import', 'tsx', join(REPO_ROOT, 'cli', 'src', 'main.ts'), ...args];
}

export function sluiceCli(args: string[], opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, cliArgv(args), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 240_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The same without blocking the test's event loop: a test worker that sits in spawnSync for
 * minutes (`up`, `run`) misses vitest's own RPC deadlines, and servers the test runs in-process
 * (loopback listeners) cannot accept meanwhile.
 */
export function sluiceCliAsync(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const argv = cliArgv(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
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
