import { nameHash } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { DnsNames } from './dns-names.ts';

describe('DnsNames', () => {
  it('maps a hash back to the name its cgroup resolved, and only in that cgroup', () => {
    const t = new DnsNames();
    expect(t.learn('n', '1', nameHash('api.example.test'), 'api.example.test')).toBe(true);
    expect(t.lookup('n', '1', nameHash('api.example.test'))).toBe('api.example.test');
    expect(t.lookup('n', '2', nameHash('api.example.test'))).toBeUndefined();
    expect(t.lookup('n', '1', 0n)).toBeUndefined();
  });

  it('learns only names that hash to the record hash (a truncated qname is refused, counted)', () => {
    const t = new DnsNames();
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.example.test`;
    expect(t.learn('n', '1', nameHash(long), long.slice(0, 120))).toBe(false);
    expect(t.learn('n', '1', 0n, 'x.test')).toBe(false);
    expect(t.rejected).toBe(2);
    expect(t.lookup('n', '1', nameHash(long))).toBeUndefined();
  });

  it('learnName answers the name as lookup answers it next (normalised, a repeat, a refusal: undefined)', () => {
    const t = new DnsNames({ maxEntries: 2 });
    const h = nameHash('api.example.test');
    expect(t.learnName('n', '1', h, 'API.Example.Test.')).toBe('api.example.test');
    expect(t.lookup('n', '1', h)).toBe('api.example.test');
    expect(t.learnName('n', '1', h, 'api.example.test')).toBe('api.example.test');
    expect(t.learnName('n', '2', h, 'api.example.tes')).toBeUndefined();
    expect(t.learnName('n', '3', nameHash('b.test'), 'b.test')).toBe('b.test');
    expect(t.learnName('n', '4', nameHash('c.test'), 'c.test')).toBe('c.test');
    expect(t.lookup('n', '4', nameHash('c.test'))).toBe('c.test');
  });

  it('treats case and a trailing dot as the kernel does', () => {
    const t = new DnsNames();
    expect(t.learn('n', '1', nameHash('api.example.test'), 'API.Example.Test.')).toBe(true);
    expect(t.lookup('n', '1', nameHash('api.example.test'))).toBe('api.example.test');
  });

  it('is bounded, evicting the least recently used entry', () => {
    const t = new DnsNames({ maxEntries: 2 });
    t.learn('n', '1', nameHash('a.test'), 'a.test');
    t.learn('n', '1', nameHash('b.test'), 'b.test');
    expect(t.lookup('n', '1', nameHash('a.test'))).toBe('a.test'); // a is now the most recent
    t.learn('n', '1', nameHash('c.test'), 'c.test');
    expect(t.size).toBe(2);
    expect(t.lookup('n', '1', nameHash('b.test'))).toBeUndefined();
    expect(t.lookup('n', '1', nameHash('a.test'))).toBe('a.test');
    expect(() => new DnsNames({ maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('forgets a dead cgroup (ids are reused)', () => {
    const t = new DnsNames();
    t.learn('n', '1', nameHash('a.test'), 'a.test');
    t.learn('n', '11', nameHash('a.test'), 'a.test');
    t.forgetCgroup('n', '1');
    expect(t.lookup('n', '1', nameHash('a.test'))).toBeUndefined();
    expect(t.lookup('n', '11', nameHash('a.test'))).toBe('a.test');
    expect(t.size).toBe(1);
  });

  it('keeps nodes apart (cgroup ids are per node)', () => {
    const t = new DnsNames();
    t.learn('n', '1', nameHash('a.test'), 'a.test');
    expect(t.lookup('m', '1', nameHash('a.test'))).toBeUndefined();
  });
});
