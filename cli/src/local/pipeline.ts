// The five services as local processes under one supervisor (what `sluice up` runs on one
// machine). State and logs sit in the instance's run dir next to scripts/services.sh's, so `down`
// stops exactly what `up` started — and, by the instance marker, anything that outlived it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { metricByLabel, metricValue } from '@sluice/runtime';
import { alive, INSTANCE_MARKER, instanceProcs } from '../supervise/instance-procs.ts';
import { readState, stateFile } from '../supervise/state.ts';
import { instance } from './instance.ts';
import { REPO_ROOT } from './paths.ts';
import { localServices, type LocalService } from './services.ts';

export { logFile } from './services.ts';
export type { LocalService } from './services.ts';
export const LOCAL_SERVICES: LocalService[] = localServices(instance);

const SUPERVISOR_MAIN = join(REPO_ROOT, 'cli', 'dist', 'supervise.js');

/** The supervisor's pid when it is alive and really ours (pids are reused). */
export function supervisorPid(runDir = instance.runDir): number | undefined {
  const st = readState(runDir);
  if (!st || !alive(st.pid)) return undefined;
  return instanceProcs(runDir).includes(st.pid) ? st.pid : undefined;
}

export function runningPid(s: LocalService): number | undefined {
  if (!supervisorPid()) return undefined;
  const pid = readState(instance.runDir)?.services[s.name]?.pid;
  return pid !== undefined && alive(pid) ? pid : undefined;
}

/** Starts the supervisor (which starts the services) unless one already runs; returns its pid. */
export async function startSupervisor(env: Record<string, string>): Promise<number> {
  const existing = supervisorPid();
  if (existing) return existing;
  // Services an older `sluice up` left behind hold the metrics ports the new ones need.
  await stopLegacy(8000);
  mkdirSync(join(instance.runDir, 'logs'), { recursive: true });
  rmSync(stateFile(instance.runDir), { force: true });
  const log = openSync(join(instance.runDir, 'logs', 'supervisor.log'), 'a');
  if (!existsSync(SUPERVISOR_MAIN)) throw new Error(`${SUPERVISOR_MAIN} is missing: run \`pnpm build\` (./sluice does it for you)`);
  const child = spawn(process.execPath, ['--enable-source-maps', SUPERVISOR_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, SLUICE_RUN_DIR: instance.runDir, [INSTANCE_MARKER]: instance.runDir },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  child.unref();
  return child.pid!;
}

/**
 * Services started by a `sluice up` from before the supervisor: one pid file each (a tsx wrapper
 * leading its own process group). Stopped by group so the wrapper's node child goes too.
 */
async function stopLegacy(graceMs: number): Promise<number[]> {
  const dir = join(instance.runDir, 'pids');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^svc-.*\.pid$/.test(f)) : [];
  const pids = files.map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())).filter((p) => Number.isInteger(p) && p > 1 && alive(p));
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* not a group leader any more, or gone */
    }
  }
  for (const pid of await waitGone(pids, graceMs)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  for (const f of files) rmSync(join(dir, f), { force: true });
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(alive);
  }
  return left;
}

/**
 * Stops the supervisor (it stops its services), then every other process that carries this
 * instance's marker: services orphaned by a kill -9 of the supervisor, or started by an older `up`.
 * Returns the pids that were running.
 */
export async function stopPipeline(graceMs = 8000): Promise<number[]> {
  const sup = supervisorPid();
  const before = [...instanceProcs(instance.runDir), ...(await stopLegacy(graceMs))];
  if (sup) {
    process.kill(sup, 'SIGTERM');
    await waitGone([sup], graceMs);
  }
  const strays = instanceProcs(instance.runDir);
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone meanwhile */
    }
  }
  for (const pid of await waitGone(strays, graceMs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  return before;
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
  handled: number;
  dropped: Record<string, number>;
  restarts: number;
  /** Supervisor state: running, backoff, crash-loop, stopped. */
  state?: string;
  lastExit?: string;
}

/** Readiness from /readyz and the drop-accounting counters from /metrics. */
export async function probe(s: LocalService, host = '127.0.0.1'): Promise<ServiceStatus> {
  const sup = supervisorPid() ? readState(instance.runDir)?.services[s.name] : undefined;
  const status: ServiceStatus = {
    name: s.name,
    pid: runningPid(s),
    ready: false,
    checks: {},
    handled: 0,
    dropped: {},
    restarts: sup?.restarts ?? 0,
    ...(sup ? { state: sup.state, ...(sup.lastExit ? { lastExit: sup.lastExit } : {}) } : {}),
  };
  try {
    const r = await fetch(`http://${host}:${s.port}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = (await r.json()) as { ready: boolean; checks: ServiceStatus['checks'] };
    status.ready = body.ready;
    status.checks = body.checks;
    const text = await (await fetch(`http://${host}:${s.port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    status.handled = metricValue(text, 'sluice_events_total');
    status.dropped = metricByLabel(text, 'sluice_events_dropped_total', 'reason');
  } catch {
    /* not reachable: reported as not ready */
  }
  return status;
}
