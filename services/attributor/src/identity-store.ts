// Identities shared in Redis so replicas, other services and the CLI resolve a cgroup id or an
// IP the same way, and a restarted attributor warms up with registrations it could not rebuild
// from Docker. Redis is an accelerator, not a dependency: when it is down, writes wait in memory
// (latest value per key, bounded), reads answer "unknown", every failure is counted, and the
// waiting writes are replayed when the connection is back.
//
// Keys (node token-encoded, so any node name is one key segment):
//   <prefix>:<node>:cg:<cgroup id>  → identity JSON   (what kernel records resolve through)
//   <prefix>:<node>:ip:<address>    → identity JSON   (what address-only readers resolve through)
import { Redis } from 'ioredis';
import { encodeToken } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { parseStoredIdentity, type CachedIdentity } from './identity.ts';
import type { AttributorMetrics } from './metrics.ts';

export interface StoreOptions {
  url: string;
  prefix: string;
  /** TTL of a live identity (refreshed by the periodic resync). */
  liveTtlS: number;
  /** A dead identity stays this long, so a backlog of its records still resolves by time. */
  deadTtlS: number;
  maxPending?: number;
}

type Write = { value: string; ttlS: number } | null;

export class IdentityStore {
  private readonly redis: Redis;
  private readonly pending = new Map<string, Write>();
  private upNow = false;

  constructor(
    private readonly opts: StoreOptions,
    private readonly log: Logger,
    private readonly metrics: AttributorMetrics,
  ) {
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      // Fail fast instead of queueing: the hot path must never wait on a dead Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(200 * times, 2000),
    });
    this.redis.on('ready', () => {
      if (!this.upNow) log.info({ pending: this.pending.size }, 'redis available');
      this.upNow = true;
      void this.flush();
    });
    this.redis.on('close', () => {
      if (this.upNow) log.warn('redis unavailable: identities stay in memory until it returns');
      this.upNow = false;
    });
    this.redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  }

  get up(): boolean {
    return this.upNow;
  }

  /** The connection, for other shared state kept beside identities (dns-name-store.ts). */
  get client(): Redis {
    return this.redis;
  }

  get pendingWrites(): number {
    return this.pending.size;
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (err) {
      // Start degraded rather than not at all; the retry strategy keeps trying.
      this.metrics.redisError('connect');
      this.log.warn({ err: (err as Error).message }, 'redis not reachable at start: running on the in-memory cache');
    }
  }

  private key(node: string, kind: 'cg' | 'ip', id: string): string {
    return `${this.opts.prefix}:${encodeToken(node)}:${kind}:${id}`;
  }

  /** Record (or refresh) an identity under its cgroup id and each of its addresses. */
  put(identity: CachedIdentity): void {
    const value = JSON.stringify(identity);
    const ttlS = identity.died_ms !== undefined ? this.opts.deadTtlS : this.opts.liveTtlS;
    const writes: Array<[string, Write]> = [];
    if (identity.cgroup_id) writes.push([this.key(identity.node, 'cg', identity.cgroup_id), { value, ttlS }]);
    for (const ip of identity.ips) writes.push([this.key(identity.node, 'ip', ip), { value, ttlS }]);
    this.write(writes);
  }

  /** Remove the address keys an identity no longer holds (network disconnect). */
  dropIps(node: string, ips: string[]): void {
    this.write(ips.map((ip) => [this.key(node, 'ip', ip), null]));
  }

  private write(writes: Array<[string, Write]>): void {
    if (writes.length === 0) return;
    if (!this.upNow) return this.defer(writes);
    const multi = this.redis.multi();
    for (const [k, w] of writes) {
      if (w) multi.set(k, w.value, 'EX', w.ttlS);
      else multi.del(k);
    }
    multi.exec().catch((err: unknown) => {
      this.metrics.redisError('write');
      this.log.debug({ err: (err as Error).message }, 'redis write failed; deferred');
      this.defer(writes);
    });
  }

  private defer(writes: Array<[string, Write]>): void {
    const max = this.opts.maxPending ?? 100_000;
    for (const [k, w] of writes) {
      if (!this.pending.has(k) && this.pending.size >= max) {
        this.metrics.stage.dropped('redis_pending_overflow');
        continue;
      }
      this.pending.delete(k); // re-insert: replay order follows the latest write
      this.pending.set(k, w);
    }
    this.metrics.redisDeferred(writes.length);
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending];
    if (batch.length === 0) return;
    this.pending.clear();
    this.log.info({ writes: batch.length }, 'replaying identity writes held while redis was down');
    this.write(batch);
  }

  async getByCgroup(node: string, cgroupId: string): Promise<CachedIdentity | undefined> {
    return this.get(this.key(node, 'cg', cgroupId));
  }

  async getByIp(node: string, ip: string): Promise<CachedIdentity | undefined> {
    return this.get(this.key(node, 'ip', ip));
  }

  private async get(key: string): Promise<CachedIdentity | undefined> {
    const waiting = this.pending.get(key);
    if (waiting !== undefined) return waiting ? parseStoredIdentity(key, waiting.value) : undefined;
    if (!this.upNow) return undefined;
    let json: string | null;
    try {
      json = await this.redis.get(key);
    } catch (err) {
      this.metrics.redisError('get');
      this.log.debug({ err: (err as Error).message, key }, 'redis read failed');
      return undefined;
    }
    return json === null ? undefined : parseStoredIdentity(key, json);
  }

  /** Every identity stored for a node (warm start). Bad entries are logged and skipped. */
  async loadNode(node: string): Promise<CachedIdentity[]> {
    if (!this.upNow) return [];
    const out: CachedIdentity[] = [];
    const match = `${this.opts.prefix}:${encodeToken(node)}:cg:*`;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        const values = keys.length > 0 ? await this.redis.mget(...keys) : [];
        values.forEach((v, i) => {
          if (v === null) return;
          try {
            out.push(parseStoredIdentity(keys[i]!, v));
          } catch (err) {
            this.metrics.stage.dropped('bad_stored_identity');
            this.log.warn({ err: (err as Error).message }, 'skipping a stored identity');
          }
        });
      } while (cursor !== '0');
    } catch (err) {
      this.metrics.redisError('scan');
      this.log.warn({ err: (err as Error).message }, 'could not warm from redis');
    }
    return out;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
