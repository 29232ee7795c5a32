// Run a service as a real child process, the way operators and compose run it, so tests
// exercise main.ts wiring, config validation and signal handling for real. Tests run it from its
// sources (tsx: always the code under test). Benchmarks set SLUICE_SERVICES_COMPILED=1
// (scripts/bench.sh, which builds first) and run the compiled bundle as `sluice run` and the
// images do (`node --enable-source-maps dist/main.js`): a figure is what a user's service costs.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { serviceNodeArgs } from '../../../cli/src/local/services.ts';
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
  const entry = process.env.SLUICE_SERVICES_COMPILED === '1' ? ['--enable-source-maps', compiledMain(name)] : ['--import', 'tsx', join(REPO_ROOT, 'services', name, 'src', 'main.ts')];
  // With the node flags it is launched with everywhere (e.g. the attributor's young generation).
  const child = spawn(process.execPath, [...serviceNodeArgs(name), ...nodeArgs, ...entry], {
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

/** The service's compiled bundle; refused when missing or older than a source it is built from. */
export function compiledMain(name: string): string {
  const main = join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: SLUICE_SERVICES_COMPILED=1 runs the compiled service; run \`pnpm -s build\` first`);
  const built = statSync(main).mtimeMs;
  // The service's sources and every workspace package but this one (test support is never bundled).
  const packages = readdirSync(join(REPO_ROOT, 'packages')).filter((p) => p !== 'testkit');
  const roots = [join(REPO_ROOT, 'services', name, 'src'), ...packages.map((p) => join(REPO_ROOT, 'packages', p, 'src'))];
  for (const root of roots) {
    const newer = newestSource(root);
    if (newer && newer.mtimeMs > built) throw new Error(`${main} is older than ${newer.path}: run \`pnpm -s build\` (SLUICE_SERVICES_COMPILED=1 runs the compiled service)`);
  }
  return main;
}

function newestSource(dir: string): { path: string; mtimeMs: number } | undefined {
  if (!existsSync(dir)) return undefined;
  let best: { path: string; mtimeMs: number } | undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const found = e.isDirectory() ? newestSource(path) : /(?<!\.test)\.ts$/.test(e.name) ? { path, mtimeMs: statSync(path).mtimeMs } : undefined;
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}
