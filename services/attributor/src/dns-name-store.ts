// The name table shared across attributor replicas through Redis. JetStream hands the raw batches
// of one node to whichever replica pulls next, so a DNS record (batch N) and the connect that
// follows it (batch N+1) may be rendered by different replicas. Each replica keeps its own table
// (dns-names.ts, the hot path) and:
//  - shares what it learns at once, before it even resolves identities, one Redis hash per cgroup:
//      <prefix>:<node>:dns:<cgroup id>  field <domain_hash> → name   (EXPIRE ttlS, refreshed)
//  - on an egress record whose hash it cannot name, reads that hash; if Redis does not have it
//    either, the batch carrying the DNS record may still be in another replica's hands (it was
//    delivered first, its write is milliseconds away): wait `missWaitMs` once and read again.
//    A hash still unnamed then is remembered as unnamed for `negativeTtlMs`, so a name that will
//    never come (DNS before Sluice started, a record the rate limiter summarised) costs one wait
//    per window, not one per batch. The event keeps its domain_hash; dst_host stays empty.
// Names read back are verified against their hash like kernel ones (others write here too).
// Redis down: each replica names what it saw itself, and the misses are counted.
import type { Redis } from 'ioredis';
import { encodeToken } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { DnsNames } from './dns-names.ts';
import type { LearnedName } from './host-names.ts';
import type { AttributorMetrics } from './metrics.ts';

export interface DnsNameStoreOptions {
  prefix: string;
  ttlS: number;
  missWaitMs: number;
  negativeTtlMs: number;
}

export interface SharedRedis {
  readonly up: boolean;
  readonly client: Redis;
}

/** Memoised keys kept at most, per level (nodes, cgroups of a node): past it the level starts over. */
const KEYS_MAX = 4096;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DnsNameStore {
  private readonly negative = new Map<string, number>(); // node/cgroup/hash → retry after (ms)
  private readonly refreshed = new Map<string, number>(); // redis key → last EXPIRE (ms)

  constructor(
    private readonly opts: DnsNameStoreOptions,
    private readonly redis: SharedRedis,
    private readonly names: DnsNames,
    private readonly log: Logger,
    private readonly metrics: AttributorMetrics,
  ) {}

  /** node → cgroup id → its Redis key: every DNS record of a batch is shared, and encodeToken walks the node name character by character. */
  private readonly keys = new Map<string, Map<string, string>>();

  private key(node: string, cgroupId: string): string {
    let byCg = this.keys.get(node);
    if (byCg === undefined) {
      if (this.keys.size >= KEYS_MAX) this.keys.clear();
      this.keys.set(node, (byCg = new Map()));
    }
    let k = byCg.get(cgroupId);
    if (k === undefined) {
      if (byCg.size >= KEYS_MAX) byCg.clear();
      byCg.set(cgroupId, (k = `${this.opts.prefix}:${encodeToken(node)}:dns:${cgroupId}`));
    }
    return k;
  }

  /** Share names a batch taught; known names only refresh the TTL, at most every ttlS/4 per cgroup. */
  async share(node: string, learned: LearnedName[], nowMs = Date.now()): Promise<void> {
    if (learned.length === 0 || !this.redis.up) return;
    const perKey = new Map<string, Record<string, string>>();
    const refreshEvery = (this.opts.ttlS * 1000) / 4;
    for (const l of learned) {
      const k = this.key(node, l.cgroupId);
      if (!l.fresh && nowMs - (this.refreshed.get(k) ?? -Infinity) < refreshEvery) continue;
      let fields = perKey.get(k);
      if (!fields) perKey.set(k, (fields = {}));
      fields[l.hash.toString()] = l.name;
    }
    if (perKey.size === 0) return;
    const multi = this.redis.client.multi();
    for (const [k, fields] of perKey) {
      multi.hset(k, fields).expire(k, this.opts.ttlS);
      this.refreshed.set(k, nowMs);
    }
    try {
      await multi.exec();
    } catch (err) {
      this.metrics.redisError('dns_share');
      this.log.debug({ err: (err as Error).message }, 'could not share DNS names');
    }
  }

  /**
   * Name what `misses` (cgroup id → hashes) lacks from the shared table, into the local one.
   * Never throws: what stays unnamed is left without dst_host and counted by render.
   */
  async resolve(node: string, misses: Map<string, Set<bigint>>, nowMs = Date.now()): Promise<void> {
    if (misses.size === 0 || !this.redis.up) return;
    let todo: Array<[string, bigint]> = [];
    for (const [cg, hashes] of misses) {
      for (const h of hashes) if ((this.negative.get(`${node}/${cg}/${h}`) ?? 0) <= nowMs) todo.push([cg, h]);
    }
    if (todo.length === 0) return;
    todo = await this.fetch(node, todo);
    if (todo.length > 0 && this.opts.missWaitMs > 0) {
      await sleep(this.opts.missWaitMs);
      todo = await this.fetch(node, todo);
    }
    const until = Date.now() + this.opts.negativeTtlMs;
    for (const [cg, h] of todo) this.negative.set(`${node}/${cg}/${h}`, until);
    if (this.negative.size > 10_000) this.sweepNegative(Date.now());
  }

  /** Read `todo` from Redis into the local table; returns what is still unnamed. */
  private async fetch(node: string, todo: Array<[string, bigint]>): Promise<Array<[string, bigint]>> {
    const byCg = new Map<string, bigint[]>();
    for (const [cg, h] of todo) {
      const l = byCg.get(cg);
      if (l) l.push(h);
      else byCg.set(cg, [h]);
    }
    const pipe = this.redis.client.pipeline();
    const order = [...byCg];
    for (const [cg, hs] of order) pipe.hmget(this.key(node, cg), ...hs.map(String));
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await pipe.exec();
    } catch (err) {
      this.metrics.redisError('dns_fetch');
      this.log.debug({ err: (err as Error).message }, 'could not read shared DNS names');
      return todo;
    }
    const left: Array<[string, bigint]> = [];
    order.forEach(([cg, hs], i) => {
      const [err, values] = results?.[i] ?? [new Error('no reply'), null];
      hs.forEach((h, j) => {
        const name = err ? null : (values as Array<string | null>)[j];
        if (name != null && this.names.learn(node, cg, h, name)) this.metrics.dnsNames('shared', 1);
        else {
          if (name != null) this.metrics.dnsNames('shared_rejected', 1);
          left.push([cg, h]);
        }
      });
      if (err) this.metrics.redisError('dns_fetch');
    });
    return left;
  }

  /** A cgroup is gone for good (its identity swept after the grace): its names go everywhere. */
  async forget(node: string, cgroupId: string): Promise<void> {
    this.names.forgetCgroup(node, cgroupId);
    const k = this.key(node, cgroupId);
    this.refreshed.delete(k);
    if (!this.redis.up) return;
    try {
      await this.redis.client.del(k);
    } catch (err) {
      // Not a leak: the key expires on its own after ttlS.
      this.metrics.redisError('dns_forget');
      this.log.debug({ err: (err as Error).message }, 'could not forget shared DNS names');
    }
  }

  private sweepNegative(nowMs: number): void {
    for (const [k, t] of this.negative) if (t <= nowMs) this.negative.delete(k);
  }
}
