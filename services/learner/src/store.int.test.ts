// The Redis aggregate on its own, against the real Redis: atomic, idempotent and bounded.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testServer } from '@sluice/testkit';
import type { Observation } from './observation.ts';
import { DEFAULT_LIMITS, LearnStore } from './store.ts';
import { sessionId } from './session.ts';

const redis = new Redis(testServer('REDIS_URL'));
const prefix = `sluice:learntest:store-${randomBytes(4).toString('hex')}:`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const T0 = Date.UTC(2026, 0, 1);
let n = 0;
const obs = (host: string, port: number, over: Partial<Observation> = {}): Observation => ({
  cls: 'learn',
  target: `h|${host}`,
  ip: '10.0.0.1',
  port,
  proto: 'tcp',
  agent: 'a',
  time_ms: T0 + 1000 + n,
  id: `e${n++}`,
  answered: false,
  ...over,
});

describe('LearnStore', () => {
  it('start is idempotent and reset removes everything', async () => {
    const store = new LearnStore(redis, prefix);
    const sel = { project: 'p-start' };
    expect((await store.start(sel, new Date(T0))).created).toBe(true);
    expect((await store.start(sel, new Date(T0 + 5))).created).toBe(false);
    expect((await store.session(sessionId(sel)))!.started_at).toBe(new Date(T0).toISOString());
    await store.apply(sessionId(sel), [obs('a.test', 443)]);
    expect(await store.reset(sel)).toBe(true);
    expect(await redis.keys(`${prefix}{${sessionId(sel)}}*`)).toEqual([]);
    expect(await store.reset(sel)).toBe(false);
    const r = await store.apply(sessionId(sel), [obs('a.test', 443)]);
    expect(r.gone).toBe(true);
  });

  it('applying the same events twice, or from two clients at once, gives one result', async () => {
    const sel = { project: 'p-idem' };
    const a = new LearnStore(redis, prefix);
    const other = new Redis(testServer('REDIS_URL'));
    const b = new LearnStore(other, prefix);
    await a.start(sel, new Date(T0));
    const batch = Array.from({ length: 50 }, (_, i) => obs(`h${i % 7}.test`, 443 + (i % 3), { time_ms: T0 + 10 + i, agent: `ag${i % 2}` }));
    const [r1, r2] = await Promise.all([a.apply(sessionId(sel), batch), b.apply(sessionId(sel), batch)]);
    await a.apply(sessionId(sel), batch.slice(10, 20));
    await other.quit();
    expect(r1.applied + r2.applied).toBe(50);
    expect(r1.duplicates + r2.duplicates).toBe(50);
    const snap = (await a.snapshot(sel))!;
    expect(snap.session).toMatchObject({ events: 50, learned: 50, duplicates: 60, overflow: 0 });
    expect(snap.destinations.reduce((s, d) => s + d.learned, 0)).toBe(50);
    const h0 = snap.destinations.find((d) => d.host === 'h0.test' && d.port === 443)!;
    expect(h0.first_ms).toBe(T0 + 10);
    expect(h0.agents).toEqual(['ag0', 'ag1']);
  });

  it('counts answered DNS per address: a loopback resolver flow only there, an answered learned destination in both, redeliveries once', async () => {
    const store = new LearnStore(redis, prefix, { ...DEFAULT_LIMITS, maxAddresses: 3 });
    const sel = { project: 'p-resolvers' };
    await store.start(sel, new Date(T0));
    const dns = { target: 'i|127.0.0.11', ip: '127.0.0.11', port: 53, proto: 'udp', answered: true };
    const batch = [
      obs('', 53, { ...dns, cls: 'resolver', id: 'r1' }),
      obs('', 53, { ...dns, cls: 'resolver', id: 'r2' }),
      obs('', 53, { ...dns, target: 'i|10.0.0.2', ip: '10.0.0.2', id: 'r3' }),
      obs('', 53, { ...dns, target: 'i|198.51.100.7', ip: '198.51.100.7', answered: false, id: 'r4' }),
    ];
    const r = await store.apply(sessionId(sel), batch);
    await store.apply(sessionId(sel), batch);
    expect(r).toMatchObject({ applied: 4, learned: 2, overflow: 0 });
    const snap = (await store.snapshot(sel))!;
    expect(snap.resolvers.sort((a, b) => a.ip.localeCompare(b.ip))).toEqual([
      { ip: '10.0.0.2', answered: 1 },
      { ip: '127.0.0.11', answered: 2 },
    ]);
    // The loopback resolver flow teaches no destination (no rule is needed to reach it).
    expect(snap.destinations.map((d) => d.ip).sort()).toEqual(['10.0.0.2', '198.51.100.7']);
  });

  it('keeps first/last as min/max whatever the arrival order', async () => {
    const store = new LearnStore(redis, prefix);
    const sel = { project: 'p-times' };
    await store.start(sel, new Date(T0));
    await store.apply(sessionId(sel), [obs('t.test', 1, { time_ms: T0 + 500 })]);
    await store.apply(sessionId(sel), [obs('t.test', 1, { time_ms: T0 + 900 }), obs('t.test', 1, { time_ms: T0 + 100 })]);
    const d = (await store.snapshot(sel))!.destinations[0]!;
    expect([d.first_ms, d.last_ms, d.learned]).toEqual([T0 + 100, T0 + 900, 3]);
  });

  it('caps distinct destinations per session and counts what it refused', async () => {
    const store = new LearnStore(redis, prefix, { ...DEFAULT_LIMITS, maxDestinations: 3 });
    const sel = { project: 'p-cap' };
    await store.start(sel, new Date(T0));
    const r = await store.apply(sessionId(sel), [obs('a.test', 1), obs('b.test', 1), obs('c.test', 1), obs('d.test', 1), obs('a.test', 1), obs('e.test', 2)]);
    expect(r).toMatchObject({ applied: 4, overflow: 2 });
    const snap = (await store.snapshot(sel))!;
    expect(snap.destinations.map((d) => d.host).sort()).toEqual(['a.test', 'b.test', 'c.test']);
    expect(snap.session.overflow).toBe(2);
  });

  it('bounds the dedupe memory: the oldest ids are forgotten beyond maxSeen', async () => {
    const store = new LearnStore(redis, prefix, { ...DEFAULT_LIMITS, maxSeen: 5 });
    const sel = { project: 'p-seen' };
    await store.start(sel, new Date(T0));
    await store.apply(sessionId(sel), Array.from({ length: 12 }, (_, i) => obs('s.test', 1, { id: `s${i}` })));
    expect(await redis.zcard(`${prefix}{${sessionId(sel)}}:seen`)).toBe(5);
  });

  it('sets a TTL on every key of a session', async () => {
    const store = new LearnStore(redis, prefix, { ...DEFAULT_LIMITS, sessionTtlS: 120 });
    const sel = { project: 'p-ttl' };
    await store.start(sel, new Date(T0));
    await store.apply(sessionId(sel), [obs('x.test', 1)]);
    const keys = await redis.keys(`${prefix}{${sessionId(sel)}}*`);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const k of keys) {
      const ttl = await redis.ttl(k);
      expect(ttl, k).toBeGreaterThan(0);
      expect(ttl, k).toBeLessThanOrEqual(120);
    }
  });

  it('ignores events older than the session start', async () => {
    const store = new LearnStore(redis, prefix);
    const sel = { project: 'p-before' };
    await store.start(sel, new Date(T0));
    const r = await store.apply(sessionId(sel), [obs('x.test', 1, { time_ms: T0 - 1 }), obs('y.test', 1, { time_ms: T0 })]);
    expect(r).toMatchObject({ applied: 1, before_start: 1 });
  });
});
