// A long-running probe whose JSON lines are read as they come (dnsrecv prints its port first).
import { spawn } from 'node:child_process';
import { PROBE } from './exec.ts';

export interface ProbeProc {
  /** The next line not yet taken. */
  line(): Promise<Record<string, unknown>>;
  /** Every line, once the probe exited 0. */
  done: Promise<Record<string, unknown>[]>;
  kill(): void;
}

export function spawnProbe(cgroup: string, ...ops: (string | number)[]): ProbeProc {
  return spawnLines(PROBE, ['--cgroup', cgroup, ...ops.map(String)]);
}

/** Any command that prints JSON lines (a probe behind a wrapper: setpriv, nsenter, sh). */
export function spawnLines(cmd: string, args: string[]): ProbeProc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let taken = 0;
  let buf = '';
  let stderr = '';
  let wake: (() => void) | undefined;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    }
    wake?.();
  });
  const done = new Promise<Record<string, unknown>[]>((res, rej) =>
    child.on('close', (code) => {
      wake?.();
      if (code === 0) res(lines);
      else rej(new Error(`${cmd} exited ${code}: ${stderr}`));
    }),
  );
  done.catch(() => {}); // a killed probe is judged by whoever awaits `done`
  return {
    async line() {
      while (taken >= lines.length) {
        if (child.exitCode !== null) throw new Error(`probe exited (${child.exitCode}) before printing: ${stderr}`);
        await new Promise<void>((r) => (wake = r));
      }
      return lines[taken++]!;
    },
    done,
    kill: () => child.kill('SIGKILL'),
  };
}
