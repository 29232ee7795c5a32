// The five services as local background processes (what `sluice up` runs on one machine).
// Pid files and logs sit in .run/ next to scripts/services.sh's, so `down` stops exactly what
// `up` started and nothing else.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricByLabel, metricValue } from '@sluice/runtime';
import { REPO_ROOT, RUN_DIR } from './paths.ts';

export interface LocalService {
  name: string;
  port: number;
}

export const LOCAL_SERVICES: LocalService[] = [
  { name: 'bpf-reader', port: 9464 },
  { name: 'attributor', port: 9465 },
  { name: 'policy', port: 9466 },
  { name: 'learner', port: 9467 },
  { name: 'sink', port: 9468 },
];

const pidFile = (s: LocalService) => join(RUN_DIR, 'pids', `svc-${s.name}.pid`);
export const logFile = (s: LocalService) => join(RUN_DIR, 'logs', `svc-${s.name}.log`);

export function runningPid(s: LocalService): number | undefined {
  if (!existsSync(pidFile(s))) return undefined;
  const pid = Number(readFileSync(pidFile(s), 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function startLocal(s: LocalService, env: Record<string, string>): number {
  const existing = runningPid(s);
  if (existing) return existing;
  mkdirSync(join(RUN_DIR, 'pids'), { recursive: true });
  mkdirSync(join(RUN_DIR, 'logs'), { recursive: true });
  const log = openSync(logFile(s), 'a');
  const child = spawn(
    join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
    [join(REPO_ROOT, 'services', s.name, 'src', 'main.ts')],
    {
      cwd: join(REPO_ROOT, 'services', s.name),
      env: { ...process.env, ...env, METRICS_PORT: String(s.port) },
      stdio: ['ignore', log, log],
      detached: true,
    },
  );
  closeSync(log);
  child.unref();
  writeFileSync(pidFile(s), `${child.pid}\n`);
  return child.pid!;
}

export async function stopLocal(s: LocalService, graceMs = 6000): Promise<boolean> {
  const pid = runningPid(s);
  if (!pid) {
    rmSync(pidFile(s), { force: true });
    return false;
  }
  // The tsx wrapper forwards the signal to its node child; the process group catches both.
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && runningPid(s)) await new Promise((r) => setTimeout(r, 100));
  if (runningPid(s)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone between the check and the kill */
    }
  }
  rmSync(pidFile(s), { force: true });
  return true;
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
  handled: number;
  dropped: Record<string, number>;
}

/** Readiness from /readyz and the drop-accounting counters from /metrics. */
export async function probe(s: LocalService, host = '127.0.0.1'): Promise<ServiceStatus> {
  const status: ServiceStatus = { name: s.name, pid: runningPid(s), ready: false, checks: {}, handled: 0, dropped: {} };
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
