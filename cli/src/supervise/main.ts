// The supervisor `sluice up` leaves running, detached: it starts the services as real node
// processes (the pid it records is the service itself, no wrapper in between), restarts any that
// exits with backoff and a crash-loop limit, keeps supervisor.json current for `status`, and on
// SIGTERM stops them all before it exits. Everything it starts carries the instance marker, so
// `down` finds strays even if this process was killed with -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { instance } from '../local/instance.ts';
import { localServices, logFile, serviceDir, serviceMain, serviceNodeArgs, type LocalService } from '../local/services.ts';
import { RestartPolicy } from './restart-policy.ts';
import { writeState, type SupervisedService, type SupervisorState } from './state.ts';

const STOP_GRACE_MS = 6000;
const runDir = instance.runDir;
mkdirSync(join(runDir, 'logs'), { recursive: true });

const state: SupervisorState = { pid: process.pid, started: new Date().toISOString(), services: {} };
const children = new Map<string, ChildProcess>();
const timers = new Map<string, NodeJS.Timeout>();
const policies = new Map<string, RestartPolicy>();
let stopping = false;

const save = () => writeState(runDir, state);
const set = (name: string, patch: Partial<SupervisedService>) => {
  state.services[name] = { ...state.services[name]!, ...patch, since: new Date().toISOString() };
  save();
};

function start(s: LocalService): void {
  timers.delete(s.name);
  if (stopping) return;
  const log = openSync(logFile(runDir, s.name), 'a');
  const startedAt = Date.now();
  // The compiled service runs in this very process: the pid is the service's.
  const child = spawn(process.execPath, ['--enable-source-maps', ...serviceNodeArgs(s.name), serviceMain(s.name)], {
    cwd: serviceDir(s.name),
    env: { ...process.env, METRICS_PORT: String(s.port), ...(s.name === 'otlp-receiver' ? { OTLP_PORT: String(instance.otlpPort) } : {}) },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  children.set(s.name, child);
  set(s.name, { pid: child.pid, state: 'running' });
  child.on('exit', (code, signal) => {
    children.delete(s.name);
    const lastExit = signal ? `signal ${signal}` : `exit ${code}`;
    const d = policies.get(s.name)!.onExit(Date.now() - startedAt, stopping);
    if (d.restart) {
      const prev = state.services[s.name]!;
      set(s.name, { pid: undefined, state: 'backoff', restarts: prev.restarts + 1, lastExit });
      process.stderr.write(`supervisor: ${s.name} ${lastExit}; restarting in ${d.delayMs} ms\n`);
      timers.set(s.name, setTimeout(() => start(s), d.delayMs));
    } else {
      set(s.name, { pid: undefined, state: d.reason === 'stopped' ? 'stopped' : 'crash-loop', lastExit: d.reason === 'stopped' ? lastExit : `${lastExit}; ${d.reason}` });
      if (d.reason !== 'stopped') process.stderr.write(`supervisor: ${s.name} ${lastExit}; ${d.reason}; not restarting\n`);
    }
  });
}

async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const t of timers.values()) clearTimeout(t);
  const exits = [...children.values()].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of children.values()) c.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await Promise.all(exits);
  clearTimeout(killer);
  save();
  process.exit(0);
}

process.on('SIGTERM', () => void stopAll());
process.on('SIGINT', () => void stopAll());

for (const s of localServices(instance)) {
  policies.set(s.name, new RestartPolicy());
  state.services[s.name] = { state: 'starting', restarts: 0, since: new Date().toISOString() };
  start(s);
}
