import { describe, expect, it } from 'vitest';
import { AuditEvent } from './events.ts';
import { dropAccountKey, dropNotice, DropNotice } from './drop-notice.ts';

const detail = {
  node: 'node.a b',
  boot_id: 'b1',
  stage: 'kernel' as const,
  drop_reason: 'ringbuf_full',
  count: 266738,
  total: 267763,
  interval_start: '2026-12-01T10:00:00.000Z',
  interval_end: '2026-12-01T10:04:00.000Z',
  round: 3,
};

describe('drop notices', () => {
  it('are audit events the overseer stream accepts, with a deterministic id and a readable reason', () => {
    const n = dropNotice('bpf-reader', detail);
    expect(AuditEvent.parse(n)).toEqual(n);
    expect(n.id).toBe(`node.a b:b1:drops:3:${Date.parse(detail.interval_end)}:kernel:ringbuf_full`);
    expect(n.reason).toBe('266738 records lost at stage kernel (ringbuf_full) on node.a b between 2026-12-01T10:00:00.000Z and 2026-12-01T10:04:00.000Z; 267763 since boot');
    expect(dropNotice('bpf-reader', detail)).toEqual(n);
  });

  it('refuse a malformed detail, naming the field', () => {
    expect(() => DropNotice.parse({ ...dropNotice('x', detail), detail: { ...detail, count: 0 } })).toThrow(/count/);
    expect(() => DropNotice.parse({ ...dropNotice('x', detail), detail: { ...detail, extra: 1 } })).toThrow(/extra/);
  });

  it('give each node a valid, distinct KV key', () => {
    const keys = ['n1', 'node.a b', 'n%1', 'x'.repeat(500), 'x'.repeat(501)].map(dropAccountKey);
    for (const k of keys) expect(k).toMatch(/^[-/_=.a-zA-Z0-9]+$/);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
