import { describe, expect, it } from 'vitest';
import { DropAccountState, DropNotice } from '@sluice/contracts';
import { DropAccount, roundDrops } from './drop-account.ts';
import { COUNTER_SLOTS, fitCounters, KernelCounters } from './kernel-counters.ts';

const BOOT = new Date('2026-12-01T10:00:00.000Z');
const at = (s: number) => new Date(BOOT.getTime() + s * 1000);
const kernel = (ringbufFull: number, generated = 0) => fitCounters([generated, ringbufFull]);

describe('DropAccount', () => {
  it('a boot never seen starts from zero: the first snapshot counts everything since boot', () => {
    const a = new DropAccount('n1', 'boot-1', undefined, BOOT);
    const k = new KernelCounters();
    k.resumeFrom(a.kernelBaseline());
    expect(k.update(kernel(7, 100))).toEqual([100, 7, ...new Array(COUNTER_SLOTS - 2).fill(0)]);
    const s = a.round([{ stage: 'kernel', reason: 'ringbuf_full', count: 7 }], k.accounted, at(10))!;
    expect(DropAccountState.parse(s)).toEqual(s);
    expect(s.pending).toHaveLength(1);
    expect(DropNotice.parse(s.pending[0])).toMatchObject({
      id: `n1:boot-1:drops:1:${at(10).getTime()}:kernel:ringbuf_full`,
      kind: 'drop_notice',
      subject: { node: 'n1' },
      detail: { stage: 'kernel', drop_reason: 'ringbuf_full', count: 7, total: 7, round: 1, interval_start: BOOT.toISOString(), interval_end: at(10).toISOString() },
    });
  });

  it('a restart on the same boot resumes: the first snapshot counts only what came since the last round', () => {
    const a = new DropAccount('n1', 'boot-1', undefined, BOOT);
    a.round([{ stage: 'kernel', reason: 'ringbuf_full', count: 1025 }], kernel(1025, 5000), at(10));
    const persisted = a.acknowledged(new Set(a.pending.map((n) => n.id)));
    // The reader dies; the kernel drops 266,738 more while none runs.
    const b = new DropAccount('n1', 'boot-1', structuredClone(persisted), BOOT);
    const k = new KernelCounters();
    k.resumeFrom(b.kernelBaseline());
    const d = k.update(kernel(1025 + 266_738, 9000));
    expect(d.slice(0, 2)).toEqual([4000, 266_738]);
    const s = b.round([{ stage: 'kernel', reason: 'ringbuf_full', count: d[1]! }], k.accounted, at(60))!;
    expect(s.pending[0]!.detail).toMatchObject({ count: 266_738, total: 267_763, round: 2, interval_start: at(10).toISOString(), interval_end: at(60).toISOString() });
  });

  it('a new boot starts from zero but keeps the old boot pending notices', () => {
    const a = new DropAccount('n1', 'boot-1', undefined, BOOT);
    const s1 = a.round([{ stage: 'reader', reason: 'publish', count: 3 }], kernel(50), at(5))!;
    const b = new DropAccount('n1', 'boot-2', structuredClone(s1), at(100));
    expect(b.kernelBaseline()).toEqual(new Array(COUNTER_SLOTS).fill(0));
    expect(b.pending.map((n) => n.id)).toEqual([`n1:boot-1:drops:1:${at(5).getTime()}:reader:publish`]);
    const s2 = b.round([{ stage: 'kernel', reason: 'ringbuf_full', count: 2 }], kernel(2), at(110))!;
    expect(s2.pending.map((n) => n.id)).toEqual([`n1:boot-1:drops:1:${at(5).getTime()}:reader:publish`, `n1:boot-2:drops:2:${at(110).getTime()}:kernel:ringbuf_full`]);
    expect(s2.pending[1]!.detail).toMatchObject({ total: 2, interval_start: at(100).toISOString() });
    expect(s2.totals).toEqual({ 'kernel/ringbuf_full': 2 });
  });

  it('one notice per stage and reason; rounds only advance with drops; nothing changed, nothing to persist', () => {
    const a = new DropAccount('n1', 'b', undefined, BOOT);
    expect(a.round([], kernel(0), at(1))).toBeDefined(); // kernel values moved from [] to zeros
    expect(a.round([], kernel(0), at(2))).toBeUndefined();
    const s = a.round(
      roundDrops([
        { time: at(3).toISOString(), node: 'n1', stage: 'reader', interval_s: 1, drops: { rate_limit: 4, decode: 1 }, totals: {} },
        { time: at(3).toISOString(), node: 'n1', stage: 'kernel', interval_s: 1, drops: { ringbuf_full: 9 }, totals: {} },
      ]),
      kernel(9),
      at(3),
    )!;
    expect(s.pending.map((n) => [n.detail.stage, n.detail.drop_reason, n.detail.count, n.detail.round])).toEqual([
      ['reader', 'rate_limit', 4, 1],
      ['reader', 'decode', 1, 1],
      ['kernel', 'ringbuf_full', 9, 1],
    ]);
    expect(a.round([], kernel(9, 1), at(4))!.round).toBe(1); // kernel moved, no drops: same round
    a.acknowledged(new Set([s.pending[0]!.id]));
    expect(a.pending).toHaveLength(2);
  });
});

describe('KernelCounters', () => {
  it('turns cumulative snapshots into deltas; a reset counts from zero', () => {
    const k = new KernelCounters();
    expect(k.update([10, 1])).toEqual([0, 0]);
    expect(k.update([15, 3])).toEqual([5, 2]);
    expect(k.update([4, 0])).toEqual([4, 0]);
  });

  it('resumes from a baseline; a reload while no reader ran counts from zero', () => {
    const k = new KernelCounters();
    k.resumeFrom([100, 10]);
    expect(k.update(kernel(4, 50)).slice(0, 2)).toEqual([50, 4]);
    expect(() => k.resumeFrom([])).toThrow(/after the first snapshot/);
  });
});
