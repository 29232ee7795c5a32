// Cgroup ids the in-memory cache cannot attribute: ask the shared store (another replica, a
// registration, a container that died before we started), then, for this node, scan the cgroup
// tree for the inode (a container whose start event we have not handled yet). Scans are rate
// limited and ids that stayed unknown are not retried for a while, so a stream of records from
// an unknown cgroup costs one lookup per window, not one per batch.
import type { Logger } from '@sluice/runtime';
import { containerIdFromCgroupPath, scanCgroupTree } from './cgroup.ts';
import type { ContainerWatch } from './container-watch.ts';
import type { IdentityStore } from './identity-store.ts';
import { LabelCache } from './label-cache.ts';
import type { AttributorMetrics } from './metrics.ts';

export interface ResolverOptions {
  node: string;
  cgroupMount: string;
  scanIntervalMs: number;
  negativeTtlMs: number;
  /** How long an identity of another node, fetched from the store, is trusted in memory. */
  remoteTtlMs?: number;
}

export class MissResolver {
  private readonly negative = new Map<string, number>(); // node/cgroup → retry after (ms)
  private lastScanMs = -Infinity;
  private scanning: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly opts: ResolverOptions,
    private readonly cache: LabelCache,
    private readonly store: IdentityStore,
    private readonly watch: ContainerWatch | undefined,
    private readonly log: Logger,
    private readonly metrics: AttributorMetrics,
  ) {}

  /** Try to make `ids` of `node` attributable; never throws (unknown stays unknown). */
  async resolve(node: string, ids: Iterable<string>): Promise<void> {
    const now = Date.now();
    const todo: string[] = [];
    for (const id of ids) {
      const key = `${node}/${id}`;
      const until = this.negative.get(key);
      if (until !== undefined && until > now) continue;
      this.negative.delete(key);
      todo.push(id);
    }
    if (todo.length === 0) return;
    const left: string[] = [];
    await Promise.all(todo.map(async (id) => ((await this.fromStore(node, id)) ? undefined : left.push(id))));
    if (left.length > 0 && node === this.opts.node && this.watch) await this.fromScan(left);
    const after = Date.now() + this.opts.negativeTtlMs;
    for (const id of left) this.negative.set(`${node}/${id}`, after);
    if (this.negative.size > 100_000) this.pruneNegative(now);
  }

  private async fromStore(node: string, cgroupId: string): Promise<boolean> {
    try {
      const identity = await this.store.getByCgroup(node, cgroupId);
      if (!identity) return false;
      // The local Docker view wins over a stored copy of the same container.
      const owner = LabelCache.ownerKey(identity);
      if (node === this.opts.node && this.cache.get(identity.node, identity.container_id ?? `cg:${identity.cgroup_id}`)) return false;
      if (node !== this.opts.node) {
        const until = Date.now() + (this.opts.remoteTtlMs ?? 30_000);
        identity.expires_ms = Math.min(identity.expires_ms ?? until, until);
      }
      this.cache.upsert(identity);
      this.log.debug({ owner, cgroup: cgroupId }, 'identity resolved from the shared store');
      return true;
    } catch (err) {
      this.metrics.redisError('bad_identity');
      this.log.warn({ err: (err as Error).message, cgroup: cgroupId }, 'stored identity unusable');
      return false;
    }
  }

  private async fromScan(ids: string[]): Promise<void> {
    const now = Date.now();
    if (!this.scanning && now - this.lastScanMs < this.opts.scanIntervalMs) {
      this.metrics.cgroupScan('rate_limited');
      return;
    }
    if (!this.scanning) {
      this.lastScanMs = now;
      this.scanning = scanCgroupTree(this.opts.cgroupMount).finally(() => (this.scanning = undefined));
    }
    let tree: Map<string, string>;
    try {
      tree = await this.scanning;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cgroup scan failed');
      return;
    }
    for (const id of ids) {
      const path = tree.get(id);
      const cid = path ? containerIdFromCgroupPath(path) : undefined;
      this.metrics.cgroupScan(cid ? 'found' : 'not_found');
      if (!path || !cid) continue;
      try {
        await this.watch!.adoptCgroup(cid, { id, path });
      } catch (err) {
        this.log.warn({ err: (err as Error).message, container: cid }, 'could not track a scanned container');
      }
    }
  }

  private pruneNegative(now: number): void {
    for (const [k, until] of this.negative) if (until <= now) this.negative.delete(k);
  }
}
