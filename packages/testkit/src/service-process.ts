// Run a service as a real child process (tsx), the way operators and compose run it, so tests
// exercise main.ts wiring, config validation and signal handling for real.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-paths.ts';
import { waitFor } from './wait-for.ts';

export interface ServiceProcess {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

/** `nodeArgs`: extra node flags (e.g. --cpu-prof, which NODE_OPTIONS does not accept). */
export function startService(name: string, env: Record<string, string | undefined>, nodeArgs: string[] = []): ServiceProcess {
  const main = join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', main], {
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

/** Waits until the service answers /readyz with 200 on `port`; fails at once when it exits. */
export async function waitReady(p: ServiceProcess, port: number, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${what} ready`,
    async () => {
      if (p.child.exitCode !== null) throw new Error(`${what} exited ${p.child.exitCode}: ${p.stderr().slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
    },
    timeoutMs,
  );
}
