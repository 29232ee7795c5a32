import { describe, expect, it } from 'vitest';
import { encodeRecord } from '@sluice/testkit/unit';
import { CgroupRateLimiter } from './rate-limit.ts';

const MS = 1_000_000n;

describe('CgroupRateLimiter', () => {
  it('passes a burst, then the rate, per cgroup, by kernel time', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 100, burst: 5, maxCgroups: 10 });
    let passed = 0;
    // 1000 records from cgroup 7 within 100 ms: burst 5 + 100/s × 0.1 s = 15 pass.
    for (let i = 0; i < 1000; i++) if (rl.admit(encodeRecord({ cgroupId: 7n, tsNs: BigInt(i) * 100_000n }), 0)) passed++;
    expect(passed).toBeGreaterThanOrEqual(14);
    expect(passed).toBeLessThanOrEqual(15);
    // Another cgroup is unaffected.
    expect(rl.admit(encodeRecord({ cgroupId: 8n, tsNs: 100n * MS }), 0)).toBe(true);
    const [s, ...rest] = rl.takeSummaries();
    expect(rest).toEqual([]);
    expect(s!.cgroupId).toBe(7n);
    expect(s!.count).toBe(1000 - passed);
    expect(s!.byVerdict).toEqual([0, 0, 1000 - passed, 0]);
    expect(s!.lastTsNs).toBe(999n * 100_000n);
    expect(s!.template.readBigUInt64LE(16)).toBe(999n * 100_000n);
    expect(rl.takeSummaries()).toEqual([]);
  });

  it('accounts every record: passed + summarised == offered', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 1000, burst: 10, maxCgroups: 4 });
    let passed = 0;
    let summarised = 0;
    for (let i = 0; i < 50_000; i++) {
      const rec = encodeRecord({ cgroupId: BigInt(i % 7), tsNs: BigInt(i) * 10_000n, verdict: 1 + (i % 3) });
      if (rl.admit(rec, 0)) passed++;
      if (i % 5000 === 0) summarised += rl.takeSummaries().reduce((n, s) => n + s.count, 0);
    }
    summarised += rl.takeSummaries().reduce((n, s) => n + s.count, 0);
    expect(passed + summarised).toBe(50_000);
    expect(summarised).toBeGreaterThan(0);
  });

  it('never refills on out-of-order timestamps', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 1, burst: 1, maxCgroups: 4 });
    expect(rl.admit(encodeRecord({ tsNs: 10_000n * MS }), 0)).toBe(true);
    expect(rl.admit(encodeRecord({ tsNs: 1n * MS }), 0)).toBe(false);
    expect(rl.admit(encodeRecord({ tsNs: 10_500n * MS }), 0)).toBe(false);
    expect(rl.admit(encodeRecord({ tsNs: 11_000n * MS }), 0)).toBe(true);
    const [s] = rl.takeSummaries();
    expect([s!.firstTsNs, s!.lastTsNs]).toEqual([1n * MS, 10_500n * MS]);
  });

  it('bounds the table: evicts idle buckets, admits beyond the bound without limiting', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 1, burst: 1, maxCgroups: 2 });
    rl.admit(encodeRecord({ cgroupId: 1n, tsNs: 0n }), 0);
    rl.admit(encodeRecord({ cgroupId: 2n, tsNs: 0n }), 0);
    expect(rl.admit(encodeRecord({ cgroupId: 3n, tsNs: 10n }), 0)).toBe(true);
    expect(rl.overflowed).toBe(1);
    // Two seconds later buckets 1 and 2 are full again and idle: evicted to make room.
    expect(rl.admit(encodeRecord({ cgroupId: 3n, tsNs: 2000n * MS }), 0)).toBe(true);
    expect(rl.tracked).toBe(1);
  });

  it('is a pass-through at rate 0', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 0, burst: 1, maxCgroups: 1 });
    for (let i = 0; i < 100; i++) expect(rl.admit(encodeRecord({ cgroupId: BigInt(i) }), 0)).toBe(true);
    expect(rl.enabled).toBe(false);
  });

  it('keys 64-bit cgroup ids exactly', () => {
    const rl = new CgroupRateLimiter({ ratePerS: 1, burst: 1, maxCgroups: 10 });
    expect(rl.admit(encodeRecord({ cgroupId: 2n ** 63n + 1n }), 0)).toBe(true);
    expect(rl.admit(encodeRecord({ cgroupId: 2n ** 63n + 2n }), 0)).toBe(true);
    expect(rl.admit(encodeRecord({ cgroupId: 2n ** 63n + 1n }), 0)).toBe(false);
    expect(rl.takeSummaries()[0]!.cgroupId).toBe(2n ** 63n + 1n);
  });
});
