import { describe, expect, it } from 'vitest';
import { LabelCache } from './label-cache.ts';
import type { CachedIdentity } from './identity.ts';

const opts = { graceMs: 1000, startSlackMs: 100 };
const ident = (over: Partial<CachedIdentity>): CachedIdentity => ({
  attribution: 'docker',
  node: 'n1',
  container_id: 'c1',
  cgroup_id: '100',
  agent: 'a',
  project: 'p',
  ips: ['172.17.0.2'],
  started_ms: 10_000,
  can_bypass_raw: false,
  ...over,
});

describe('label cache', () => {
  it('attributes by cgroup id and by IP to the same entry', () => {
    const c = new LabelCache(opts);
    const e = c.upsert(ident({}));
    expect(c.lookupCgroup('n1', '100', 10_500)).toBe(e);
    expect(c.lookupIp('n1', '172.17.0.2', 10_500)).toBe(e);
    expect(c.lookupCgroup('n2', '100', 10_500)).toBeUndefined();
  });

  it('never attributes a record older than the container start (less the slack)', () => {
    const c = new LabelCache(opts);
    c.upsert(ident({}));
    expect(c.lookupCgroup('n1', '100', 9_950)).toBeDefined();
    expect(c.lookupCgroup('n1', '100', 9_800)).toBeUndefined();
  });

  it('keeps a dead container for in-flight records within the grace, then drops both indexes', () => {
    const c = new LabelCache(opts);
    c.upsert(ident({}));
    c.markDead('n1', 'c1', 20_000);
    expect(c.lookupCgroup('n1', '100', 20_500)?.identity.container_id).toBe('c1');
    // a record stamped after death + grace is not the dead container's, even before the sweep
    expect(c.lookupCgroup('n1', '100', 21_500)).toBeUndefined();
    expect(c.sweep(20_999)).toHaveLength(0);
    const removed = c.sweep(21_000);
    expect(removed.map((e) => e.identity.container_id)).toEqual(['c1']);
    expect(c.lookupCgroup('n1', '100', 20_500)).toBeUndefined();
    expect(c.lookupIp('n1', '172.17.0.2', 20_500)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('gives a reused cgroup id and IP to the later container only for its own records', () => {
    const c = new LabelCache(opts);
    c.upsert(ident({}));
    c.markDead('n1', 'c1', 20_000);
    c.upsert(ident({ container_id: 'c2', agent: 'b', started_ms: 20_200 }));
    expect(c.lookupCgroup('n1', '100', 19_000)?.identity.agent).toBe('a');
    expect(c.lookupCgroup('n1', '100', 20_300)?.identity.agent).toBe('b');
    expect(c.lookupIp('n1', '172.17.0.2', 20_300)?.identity.agent).toBe('b');
    c.sweep(30_000);
    expect(c.lookupCgroup('n1', '100', 19_000)).toBeUndefined();
    expect(c.lookupCgroup('n1', '100', 30_000)?.identity.agent).toBe('b');
  });

  it('re-indexes IPs on upsert (network disconnect) and expires registrations', () => {
    const c = new LabelCache(opts);
    c.upsert(ident({}));
    c.upsert(ident({ ips: ['10.0.0.5'] }));
    expect(c.lookupIp('n1', '172.17.0.2', 10_500)).toBeUndefined();
    expect(c.lookupIp('n1', '10.0.0.5', 10_500)).toBeDefined();
    c.upsert(ident({ attribution: 'registered', container_id: undefined, cgroup_id: '7', ips: [], expires_ms: 50_000 }));
    expect(c.lookupCgroup('n1', '7', 40_000)?.identity.attribution).toBe('registered');
    c.sweep(50_000);
    expect(c.lookupCgroup('n1', '7', 40_000)).toBeUndefined();
  });
});
