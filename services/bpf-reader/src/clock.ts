// Kernel records carry bpf_ktime_get_boot_ns() (CLOCK_BOOTTIME). Consumers need wall time, so
// every batch carries wall − boot in ns (Sluice-Wall-Offset-Ns), re-measured periodically because
// NTP steps the wall clock.
//
// Exact source: /proc/timer_list lists the hrtimer clock bases with their offsets from
// CLOCK_MONOTONIC (base 1 REALTIME, base 2 BOOTTIME), so wall − boot = offs_real − offs_boot to
// the nanosecond. It is root-only; without it the offset is measured from Date.now() against
// process.hrtime (CLOCK_MONOTONIC), synchronised on a millisecond edge (error ~µs), and
// boot − monotonic (time spent suspended) from /proc/uptime (10 ms resolution).
import { readFileSync } from 'node:fs';

export interface ClockOffsets {
  /** CLOCK_REALTIME − CLOCK_MONOTONIC */
  realNs: bigint;
  /** CLOCK_BOOTTIME − CLOCK_MONOTONIC (suspend time; 0 on a server that never slept) */
  bootNs: bigint;
}

/** Offsets of the first CPU's REALTIME (1) and BOOTTIME (2) clock bases; undefined if absent. */
export function parseTimerList(text: string): ClockOffsets | undefined {
  const found = new Map<number, bigint>();
  const re = /^\s*clock (\d+):[\s\S]*?^\s*\.offset:\s+(-?\d+) nsecs/gm;
  for (let m = re.exec(text); m && found.size < 3; m = re.exec(text)) {
    const base = Number(m[1]);
    if (!found.has(base)) found.set(base, BigInt(m[2]!));
  }
  const realNs = found.get(1);
  const bootNs = found.get(2);
  if (realNs === undefined || bootNs === undefined) return undefined;
  return { realNs, bootNs };
}

/** CLOCK_BOOTTIME − CLOCK_MONOTONIC from /proc/uptime read at monotonic `monoNs`. */
export function bootMinusMonoFromUptime(uptimeText: string, monoNs: bigint): bigint {
  const secs = /^(\d+)\.(\d{2})/.exec(uptimeText);
  if (!secs) throw new Error(`/proc/uptime: unexpected content ${JSON.stringify(uptimeText.slice(0, 40))}`);
  const uptimeNs = BigInt(secs[1]!) * 1_000_000_000n + BigInt(secs[2]!) * 10_000_000n;
  const d = uptimeNs - monoNs;
  // /proc/uptime truncates to 10 ms: anything within that is reading noise, not suspend time.
  return d > -20_000_000n && d < 20_000_000n ? 0n : d;
}

/** CLOCK_REALTIME − CLOCK_MONOTONIC measured on a Date.now() millisecond edge. */
export function realMinusMonoByEdge(now: () => number = Date.now, mono: () => bigint = process.hrtime.bigint): bigint {
  const start = now();
  let t = start;
  let m = mono();
  // Spin until the millisecond changes (at most ~1 ms); the edge pins wall time to ~1 µs.
  for (let i = 0; i < 10_000_000 && t === start; i++) {
    m = mono();
    t = now();
  }
  return BigInt(t) * 1_000_000n - m;
}

export interface Clock {
  /** wall − boot ns, as last measured. */
  wallOffsetNs: bigint;
  /** Current CLOCK_BOOTTIME in ns. */
  bootNowNs(): bigint;
  /** Re-measure; returns the source used. */
  resync(): 'timer_list' | 'estimate';
}

export function systemClock(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Clock {
  let bootMinusMono = 0n;
  const clock: Clock = {
    wallOffsetNs: 0n,
    bootNowNs: () => process.hrtime.bigint() + bootMinusMono,
    resync() {
      let exact: ClockOffsets | undefined;
      try {
        exact = parseTimerList(read('/proc/timer_list'));
      } catch {
        exact = undefined; // not root, or no CONFIG_TIMER_LIST: fall back to the estimate
      }
      const realMinusMono = realMinusMonoByEdge();
      const estimateBoot = bootMinusMonoFromUptime(read('/proc/uptime'), process.hrtime.bigint());
      // Trust timer_list only when it agrees with the estimate: a format we misread must not
      // shift every event's time.
      if (exact && abs(exact.realNs - realMinusMono) < 50_000_000n && abs(exact.bootNs - estimateBoot) < 50_000_000n) {
        bootMinusMono = exact.bootNs;
        clock.wallOffsetNs = exact.realNs - exact.bootNs;
        return 'timer_list';
      }
      bootMinusMono = estimateBoot;
      clock.wallOffsetNs = realMinusMono - estimateBoot;
      return 'estimate';
    },
  };
  clock.resync();
  return clock;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
