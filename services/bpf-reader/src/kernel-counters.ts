// The kernel's own accounting (bpf/map_types.h SLUICE_C_*): `sluice-bpf stream` appends a
// COUNTERS record in-band whenever the per-CPU counters changed, so kernel drops arrive in order
// with the records they concern. Counters are cumulative since the programs were loaded (within a
// boot); the reader turns them into deltas (and treats a decrease as a reload that reset them).
//
// Across reader restarts the deltas stay exact: the reader resumes from the values its last drop
// notice covered (drop-account.ts, persisted per node and boot), so the first snapshot after a
// restart counts everything the kernel lost while no reader ran. A boot never seen starts from zero.
import { KERNEL_COUNTER, KERNEL_COUNTERS_EXT } from '@sluice/contracts';
import { OFF } from './layout.ts';

// The kernel counters the reader exports as metrics (by these names), at their slots in the
// contracts' table: one source for slot numbers, packages/contracts/src/kernel-record.ts.
export const COUNTER_SLOT = {
  generated: KERNEL_COUNTER.generated,
  ringbuf_full: KERNEL_COUNTER.drop_ringbuf_full,
  allowed: KERNEL_COUNTER.allowed,
  denied: KERNEL_COUNTER.denied,
  bypassed: KERNEL_COUNTER.bypassed,
  audit: KERNEL_COUNTER.audit,
  dns_untrusted: KERNEL_COUNTER.dns_untrusted,
  dns_unsolicited: KERNEL_COUNTER.dns_unsolicited,
  dns_mismatch: KERNEL_COUNTER.dns_mismatch,
  dns_wrong_socket: KERNEL_COUNTER.dns_wrong_socket,
  bind_denied: KERNEL_COUNTER.bind_denied,
  sockopt_denied: KERNEL_COUNTER.sockopt_denied,
  srcroute_dropped: KERNEL_COUNTER.srcroute_dropped,
  escapes: KERNEL_COUNTER.escapes,
} as const;
const BODY_SLOTS = 16;
export const COUNTER_SLOTS = BODY_SLOTS + KERNEL_COUNTERS_EXT[1] / 8;

export function readCounters(buf: Buffer, off: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < BODY_SLOTS; i++) out.push(Number(buf.readBigUInt64LE(off + OFF.body + i * 8)));
  for (let i = BODY_SLOTS; i < COUNTER_SLOTS; i++) out.push(Number(buf.readBigUInt64LE(off + KERNEL_COUNTERS_EXT[0] + (i - BODY_SLOTS) * 8)));
  return out;
}

export function fitCounters(values: readonly number[]): number[] {
  return Array.from({ length: COUNTER_SLOTS }, (_, i) => values[i] ?? 0);
}

export class KernelCounters {
  private last: number[] | undefined;
  /** Latest absolute values (for gauges). */
  current: number[] = new Array<number>(COUNTER_SLOTS).fill(0);

  /**
   * Count the next snapshot from `baseline` (what was already accounted this boot; [] for a boot
   * never seen). Without it the first snapshot is only a baseline: what came before is unknown.
   */
  resumeFrom(baseline: readonly number[]): void {
    if (this.last) throw new Error('resumeFrom after the first snapshot');
    this.last = fitCounters(baseline);
  }

  /** The absolute values whose deltas have been handed out (undefined before any baseline). */
  get accounted(): readonly number[] | undefined {
    return this.last;
  }

  /** Deltas since the previous snapshot (or the resumed baseline). */
  update(values: number[]): number[] {
    const prev = this.last;
    this.last = values;
    this.current = values;
    if (!prev) return values.map(() => 0);
    if (values.some((v, i) => v < prev[i]!)) return values.slice(); // programs reloaded: counted from 0
    return values.map((v, i) => v - prev[i]!);
  }
}
