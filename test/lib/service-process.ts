// Run a service as a real child process (tsx), the way operators and compose run it, so tests
// exercise main.ts wiring, config validation and signal handling for real.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

export function startService(name: string, env: Record<string, string | undefined>): ServiceProcess {
  const main = join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: join(REPO_ROOT, 'services', name),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, stderr: () => err, stdout: () => out, exited };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Sends SIGTERM and waits at most `graceMs` for a clean exit; SIGKILLs and reports otherwise. */
export async function stopService(p: ServiceProcess, graceMs: number): Promise<{ code: number | string; killed: boolean }> {
  if (p.child.exitCode !== null) return { code: p.child.exitCode, killed: false };
  p.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs));
  const res = await Promise.race([p.exited, timer]);
  if (res === 'timeout') {
    p.child.kill('SIGKILL');
    return { code: await p.exited, killed: true };
  }
  return { code: res, killed: false };
}
