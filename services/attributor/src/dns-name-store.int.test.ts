// The name table shared across replicas through a real Redis: two tables stand for two attributor
// replicas, one seeing the DNS record, the other the connect that follows.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { nameHash } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import { testServer } from '@sluice/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsNameStore } from './dns-name-store.ts';
import { DnsNames } from './dns-names.ts';
import type { AttributorMetrics } from './metrics.ts';

const prefix = `sluice-it-dns:${randomUUID().slice(0, 8)}`;
const log = createLogger('dns-name-store-test', 'silent');
const counts = new Map<string, number>();
// A recording sink for the counters (not a server): the test reads what the store counted.
const metrics = {
  redisError: (op: string) => counts.set(`redis:${op}`, (counts.get(`redis:${op}`) ?? 0) + 1),
  dnsNames: (r: string, n: number) => counts.set(r, (counts.get(r) ?? 0) + n),
} as unknown as AttributorMetrics;
const H = nameHash('api.example.test');
let redis: Redis;

function replica(missWaitMs = 0): { names: DnsNames; store: DnsNameStore } {
  const names = new DnsNames();
  return { names, store: new DnsNameStore({ prefix, ttlS: 600, missWaitMs, negativeTtlMs: 60_000 }, { up: true, client: redis }, names, log, metrics) };
}

beforeAll(async () => {
  redis = new Redis(testServer('REDIS_URL'));
  await redis.ping();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('DnsNameStore (real Redis)', () => {
  it('lets a replica name a hash another replica learned; the key expires and names only that cgroup', async () => {
    const a = replica();
    const b = replica();
    a.names.learn('n1', '7', H, 'api.example.test');
    await a.store.share('n1', [{ cgroupId: '7', hash: H, name: 'api.example.test', fresh: true }]);
    const ttl = await redis.ttl(`${prefix}:n1:dns:7`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
    await b.store.resolve('n1', new Map([['7', new Set([H])], ['8', new Set([H])]]));
    expect(b.names.lookup('n1', '7', H)).toBe('api.example.test');
    expect(b.names.lookup('n1', '8', H)).toBeUndefined();
  });

  it('waits once for a DNS record another replica is still sharing', async () => {
    const a = replica();
    const b = replica(1000);
    const h = nameHash('late.example.test');
    const sharing = new Promise<void>((res) =>
      setTimeout(() => void a.store.share('n1', [{ cgroupId: '9', hash: h, name: 'late.example.test', fresh: true }]).then(res), 50),
    );
    await b.store.resolve('n1', new Map([['9', new Set([h])]]));
    await sharing;
    expect(b.names.lookup('n1', '9', h)).toBe('late.example.test');
  });

  it('refuses a shared name that does not hash to its key, and remembers the miss instead of asking again', async () => {
    const b = replica();
    const h = nameHash('real.example.test');
    await redis.hset(`${prefix}:n1:dns:10`, h.toString(), 'forged.example.test');
    const before = counts.get('shared_rejected') ?? 0;
    await b.store.resolve('n1', new Map([['10', new Set([h])]]));
    expect(b.names.lookup('n1', '10', h)).toBeUndefined();
    expect(counts.get('shared_rejected')).toBe(before + 1);
    await redis.hset(`${prefix}:n1:dns:10`, h.toString(), 'real.example.test');
    await b.store.resolve('n1', new Map([['10', new Set([h])]])); // within the negative window: not read
    expect(b.names.lookup('n1', '10', h)).toBeUndefined();
  });

  it('forgets a dead cgroup everywhere', async () => {
    const a = replica();
    const b = replica();
    a.names.learn('n1', '11', H, 'api.example.test');
    await a.store.share('n1', [{ cgroupId: '11', hash: H, name: 'api.example.test', fresh: true }]);
    await a.store.forget('n1', '11');
    expect(a.names.lookup('n1', '11', H)).toBeUndefined();
    expect(await redis.exists(`${prefix}:n1:dns:11`)).toBe(0);
    await b.store.resolve('n1', new Map([['11', new Set([H])]]));
    expect(b.names.lookup('n1', '11', H)).toBeUndefined();
  });
});
