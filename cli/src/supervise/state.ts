// The supervisor's state file: what `status` shows (true pids, restarts, why a service is down) and
// what `down` reads to find the supervisor. Written whole and renamed, so a reader never sees half.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ServiceRunState = 'starting' | 'running' | 'backoff' | 'crash-loop' | 'stopped';

export interface SupervisedService {
  pid?: number;
  state: ServiceRunState;
  restarts: number;
  /** "exit 1", "signal SIGKILL", with the crash-loop reason when given up. */
  lastExit?: string;
  since: string;
}

export interface SupervisorState {
  pid: number;
  started: string;
  services: Record<string, SupervisedService>;
}

export const stateFile = (runDir: string): string => join(runDir, 'supervisor.json');

export function readState(runDir: string): SupervisorState | undefined {
  const f = stateFile(runDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as SupervisorState;
  } catch {
    return undefined; // unreadable: treated as no supervisor; `down` still sweeps by instance marker
  }
}

export function writeState(runDir: string, s: SupervisorState): void {
  const f = stateFile(runDir);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(s, null, 1)}\n`);
  renameSync(`${f}.tmp`, f);
}
