// Keeps `sluice-bpf stream` running. Enforcement lives in the kernel and goes on without it; only
// visibility suffers while it is down (the kernel ring buffer fills, then the kernel counts its
// own drops), so the job here is to restart it promptly, back off when it keeps dying, and say
// loudly that it is down.
import { spawn, type ChildProcess } from 'node:child_process';

export interface SupervisorOptions {
  command: string;
  args: string[];
  backoffMinMs: number;
  backoffMaxMs: number;
  /** A run this long resets the backoff. */
  stableMs: number;
}

export interface HelperExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines the helper wrote to stderr (its error messages). */
  stderr: string;
  ranMs: number;
}

export interface SupervisorEvents {
  /**
   * A new helper stream begins (called synchronously at spawn, before any of its data and before
   * any ack() can reach it; every byte of the previous one was delivered).
   */
  streamBegins?(): void;
  started(pid: number): void;
  /** Raw stdout bytes, in order. */
  data(chunk: Buffer): void;
  /** The helper is gone and its stdout fully read; restart follows after `retryInMs`. */
  exited(exit: HelperExit, retryInMs: number): void;
  /** Spawning failed outright (binary missing, not executable). */
  spawnFailed(err: Error, retryInMs: number): void;
}

/** Delay before the next start: doubles while runs are short, back to the minimum after a stable run. */
export function nextBackoff(prevMs: number, ranMs: number, o: Pick<SupervisorOptions, 'backoffMinMs' | 'backoffMaxMs' | 'stableMs'>): number {
  if (ranMs >= o.stableMs || prevMs <= 0) return o.backoffMinMs;
  return Math.min(o.backoffMaxMs, prevMs * 2);
}

const STDERR_TAIL = 4096;

export class HelperSupervisor {
  private child: ChildProcess | undefined;
  private backoff = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exitWaiters: Array<() => void> = [];

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly events: SupervisorEvents,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.stopping || this.child) return;
    const began = Date.now();
    let stderr = '';
    let child: ChildProcess;
    try {
      // stdin carries acknowledgements (`--ack-stdin`): closing it is how the helper learns we are gone.
      child = spawn(this.opts.command, this.opts.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.retry(err as Error, 0);
      return;
    }
    this.child = child;
    this.events.streamBegins?.();
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    child.stdin!.on('error', () => undefined); // EPIPE once it exited: 'close' reports the exit
    child.once('spawn', () => this.events.started(child.pid!));
    child.stdout!.on('data', (d: Buffer) => this.events.data(d));
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-STDERR_TAIL);
    });
    // 'close' comes after stdout ended, so every byte the helper wrote has been delivered.
    child.once('close', (code, signal) => {
      this.child = undefined;
      const ranMs = Date.now() - began;
      if (spawnError && child.pid === undefined) {
        this.retry(spawnError, ranMs);
      } else {
        this.backoff = nextBackoff(this.backoff, ranMs, this.opts);
        const retryIn = this.stopping ? -1 : this.backoff;
        this.events.exited({ code, signal, stderr: stderr.trim(), ranMs }, retryIn);
        this.schedule();
      }
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  /** Tell the running helper that the first `n` records of its stream are done (it releases them). */
  ack(n: number): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${n}\n`);
  }

  /** SIGTERM (the helper drains the ring and exits), SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((r) => this.exitWaiters.push(r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  }

  private retry(err: Error, ranMs: number): void {
    this.backoff = nextBackoff(this.backoff, ranMs, this.opts);
    this.events.spawnFailed(err, this.stopping ? -1 : this.backoff);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.backoff);
  }
}
