// `sluice-bpf stream` as the tests see it: a child process whose stdout is cut into 256-byte
// records and decoded with the contracts decoder (so the tests also exercise it).
import { spawn, type ChildProcess } from 'node:child_process';
import {
  decodeKernelRecord,
  KERNEL_RECORD_SIZE,
  type KernelCountersRecord,
  type KernelDnsRecord,
  type KernelEgressRecord,
  type KernelEscapeRecord,
  type KernelRecord,
} from '@sluice/contracts';
import { HELPER, until } from './exec.ts';

export class RecordStream {
  readonly records: KernelRecord[] = [];
  readonly child: ChildProcess;
  stderr = '';
  private pending = Buffer.alloc(0);
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(pin: string, counterMs = 100) {
    this.child = spawn(HELPER, ['--pin', pin, 'stream', '--counters-ms', String(counterMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((res) => this.child.on('close', (code, signal) => res({ code, signal })));
  }

  private onData(d: Buffer): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    let o = 0;
    for (; o + KERNEL_RECORD_SIZE <= buf.length; o += KERNEL_RECORD_SIZE) this.records.push(decodeKernelRecord(buf, o));
    this.pending = Buffer.from(buf.subarray(o));
  }

  /** Kernel records only (the helper's in-band counter snapshots left out). */
  get kernel(): KernelEgressRecord[] {
    return this.records.filter((r): r is KernelEgressRecord => r.kind !== 'counters' && r.kind !== 'dns' && r.kind !== 'escape');
  }

  get escapes(): KernelEscapeRecord[] {
    return this.records.filter((r): r is KernelEscapeRecord => r.kind === 'escape');
  }

  get dns(): KernelDnsRecord[] {
    return this.records.filter((r): r is KernelDnsRecord => r.kind === 'dns');
  }

  get counters(): KernelCountersRecord[] {
    return this.records.filter((r): r is KernelCountersRecord => r.kind === 'counters');
  }

  byCookie(cookie: string | bigint): KernelEgressRecord[] {
    const c = BigInt(cookie);
    return this.kernel.filter((r) => r.socketCookie === c);
  }

  /** The single record for a socket cookie, waiting for it to arrive. */
  async one(cookie: string | bigint, ms = 5000): Promise<KernelEgressRecord> {
    await until(() => this.byCookie(cookie).length > 0, ms, `a record with socket cookie ${cookie}`);
    const got = this.byCookie(cookie);
    if (got.length !== 1) throw new Error(`expected one record for cookie ${cookie}, got ${got.length}`);
    return got[0]!;
  }

  async waitFor(pred: (r: KernelEgressRecord) => boolean, ms = 5000, what = 'a matching record'): Promise<KernelEgressRecord> {
    return until(() => this.kernel.find(pred), ms, what);
  }

  /** Graceful stop: the helper drains the ring and writes a last counters record. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  get done(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}
