import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootMinusMonoFromUptime, parseTimerList, realMinusMonoByEdge, systemClock } from './clock.ts';

const SAMPLE = `Timer List Version: v0.10
HRTIMER_MAX_CLOCK_BASES: 8
now at 2401103730078 nsecs

cpu: 0
 clock 0:
  .base:       00000000f42cda66
  .index:      0
  .resolution: 1 nsecs
  .offset:     0 nsecs
active timers:
 #0: <000000007f785156>, tick_nohz_handler, S:01
 # expires at 2401104000000-2401104000000 nsecs [in 269922 to 269922 nsecs]
 clock 1:
  .base:       00000000d2bbbc1c
  .index:      1
  .resolution: 1 nsecs
  .offset:     1795433780516012099 nsecs
active timers:
 clock 2:
  .base:       0000000046ac09f3
  .index:      2
  .resolution: 1 nsecs
  .offset:     3000000000 nsecs
active timers:
cpu: 1
 clock 1:
  .offset:     1 nsecs
`;

describe('clock', () => {
  it('reads REALTIME and BOOTTIME offsets of the first CPU from /proc/timer_list', () => {
    expect(parseTimerList(SAMPLE)).toEqual({ realNs: 1795433780516012099n, bootNs: 3000000000n });
    expect(parseTimerList('nothing here')).toBeUndefined();
  });

  it('treats /proc/uptime truncation as no suspend, real suspend as offset', () => {
    expect(bootMinusMonoFromUptime('2401.10 4674.47\n', 2_401_109_000_000n)).toBe(0n);
    expect(bootMinusMonoFromUptime('2461.10 4674.47\n', 2_401_100_000_000n)).toBe(60_000_000_000n);
    expect(() => bootMinusMonoFromUptime('', 0n)).toThrow(/\/proc\/uptime/);
  });

  it('pins wall time on a millisecond edge', () => {
    let ms = 1000;
    let mono = 0n;
    // Date.now ticks every 5 reads; monotonic advances 100 µs per read.
    let reads = 0;
    const off = realMinusMonoByEdge(
      () => (++reads % 5 === 0 ? ++ms : ms),
      () => (mono += 100_000n),
    );
    expect(off).toBe(1001n * 1_000_000n - 500_000n); // the monotonic read just before the edge
  });

  it('measures this machine: wall − boot agrees with Date.now and /proc/uptime', () => {
    const c = systemClock();
    // Root here: the exact source is readable and must agree with the estimate.
    expect(c.resync()).toBe('timer_list');
    const uptimeNs = BigInt(Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e9));
    const wallNs = BigInt(Date.now()) * 1_000_000n;
    const err = wallNs - uptimeNs - c.wallOffsetNs;
    // /proc/uptime has 10 ms resolution; Date.now 1 ms.
    expect(err > -50_000_000n && err < 50_000_000n).toBe(true);
    const boot = c.bootNowNs();
    expect(boot - uptimeNs > -50_000_000n && boot - uptimeNs < 50_000_000n).toBe(true);
  });
});
