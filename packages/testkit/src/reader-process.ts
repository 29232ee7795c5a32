// The bpf-reader as operators run it (tsx main.ts, env config), for the kernel and integration
// tests: its metrics port is read from its start-up log, its helper pid from /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { metricValue, scrape } from './scrape.ts';
import { startService, stopService, type ServiceProcess } from './service-process.ts';
import { waitFor } from './wait-for.ts';

export interface Reader {
  proc: ServiceProcess;
  port: number;
  metrics(): Promise<string>;
  value(name: string, labels?: Record<string, string>): Promise<number>;
  /** pid of the running sluice-bpf child, if any. */
  helperPid(): number | undefined;
  stop(): Promise<{ code: number | string; killed: boolean }>;
}

export async function startReader(env: Record<string, string>, nodeArgs: string[] = []): Promise<Reader> {
  const proc = startService('bpf-reader', { METRICS_PORT: '0', LOG_LEVEL: 'info', ...env }, nodeArgs);
  const port = await waitFor('reader metrics port', async () => {
    if (proc.child.exitCode !== null) throw new Error(`reader exited: ${proc.stderr()}`);
    const m = /"port":(\d+)[^\n]*health and metrics listening/.exec(proc.stderr());
    return m ? Number(m[1]) : undefined;
  });
  const metrics = () => scrape(port);
  return {
    proc,
    port,
    metrics,
    value: async (name, labels) => metricValue(await metrics(), name, labels),
    helperPid: () => childPids(proc.child.pid!).find((p) => comm(p) === 'sluice-bpf'),
    stop: () => stopService(proc, 8000),
  };
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
