import { describe, expect, it } from 'vitest';
import { DropNotification } from '@sluice/contracts';
import { DropLedger } from './drops.ts';

describe('DropLedger', () => {
  it('notifies per stage with interval deltas and running totals, only when nonzero', () => {
    const seen: string[] = [];
    const l = new DropLedger((s, r, n) => seen.push(`${s}/${r}/${n}`));
    l.drop('reader', 'decode', 2);
    l.drop('kernel', 'ringbuf_full', 10);
    l.drop('reader', 'rate_limit', 0);
    const now = new Date('2026-01-01T00:00:00Z');
    const first = l.takeNotifications('n1', 10, now);
    expect(first.map((x) => DropNotification.parse(x))).toHaveLength(2);
    expect(first.find((x) => x.stage === 'reader')!.drops).toEqual({ decode: 2 });
    expect(l.takeNotifications('n1', 10, now)).toEqual([]);
    l.drop('reader', 'publish', 5);
    const [second] = l.takeNotifications('n1', 10, now);
    expect(second).toMatchObject({ stage: 'reader', drops: { publish: 5 }, totals: { decode: 2, publish: 5 } });
    expect(seen).toEqual(['reader/decode/2', 'kernel/ringbuf_full/10', 'reader/publish/5']);
    expect(l.total('reader')).toBe(7);
  });
});
