import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { SyncContextManager } from './sync-context.ts';

const key = createContextKey('k');

describe('SyncContextManager', () => {
  it('makes a context active for the synchronous extent of with(), nested, and restores it after a throw', () => {
    const m = new SyncContextManager();
    const a = ROOT_CONTEXT.setValue(key, 'a');
    const b = ROOT_CONTEXT.setValue(key, 'b');
    expect(m.active()).toBe(ROOT_CONTEXT);
    const seen = m.with(a, () => [m.active().getValue(key), m.with(b, () => m.active().getValue(key)), m.active().getValue(key)]);
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(() => m.with(a, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(m.active()).toBe(ROOT_CONTEXT);
  });

  it('passes this and arguments through, and bind() carries the context into a later call', () => {
    const m = new SyncContextManager();
    const a = ROOT_CONTEXT.setValue(key, 'a');
    const self = { n: 2 };
    expect(m.with(a, function (this: typeof self, x: number) {
      return this.n * x;
    }, self, 21)).toBe(42);
    const later = m.bind(a, () => m.active().getValue(key));
    expect(later()).toBe('a');
    expect(m.active()).toBe(ROOT_CONTEXT);
  });

  it('does not carry a context across an await (by design: Sluice passes trace contexts explicitly)', async () => {
    const m = new SyncContextManager();
    const a = ROOT_CONTEXT.setValue(key, 'a');
    const after = await m.with(a, async () => {
      await Promise.resolve();
      return m.active().getValue(key);
    });
    expect(after).toBeUndefined();
  });
});
