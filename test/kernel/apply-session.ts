// A long-running `sluice-bpf apply`, as the policy service runs it: it holds the writer lock
// for its lifetime and takes one batch per `commit`.
import { spawn, type ChildProcess } from 'node:child_process';
import { HELPER } from './exec.ts';

export interface BatchResult {
  ok: boolean;
  ops: Record<string, unknown>[];
}

export class ApplySession {
  readonly child: ChildProcess;
  stderr = '';
  private buf = '';
  private lines: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];

  constructor(pin: string) {
    this.child = spawn(HELPER, ['--pin', pin, 'apply'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => {});
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    this.child.on('close', () => this.waiters.splice(0).forEach((w) => w()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async batch(lines: string[]): Promise<BatchResult> {
    this.child.stdin!.write(lines.join('\n') + '\ncommit\n');
    for (;;) {
      const end = this.lines.findIndex((l) => 'batch' in l);
      if (end >= 0) {
        const ops = this.lines.splice(0, end + 1);
        return { ok: ops.at(-1)!.ok === true, ops: ops.slice(0, -1) };
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`apply exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderr}`);
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Ends the session the way a crash would, or politely (EOF). */
  close(signal?: NodeJS.Signals): Promise<number | null> {
    return new Promise((res) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return res(this.child.exitCode);
      this.child.on('close', (code) => res(code));
      if (signal) this.child.kill(signal);
      else this.child.stdin!.end();
    });
  }
}
