// The dual-indexed label cache (P13): cgroup id → identity for kernel records, container IP →
// identity for readers that only see addresses. Both indexes hold the same entries and lose them
// together. Keys are per node (cgroup ids and bridge IPs are host-local).
//
// Reuse is guarded by time, not by processing order: each key keeps the generations that have
// held it, and a record is attributed to the newest generation that had started (less a small
// slack) at the record's own timestamp and had not died more than `graceMs` before it. So an
// in-flight record of a dead container still gets its labels, and a later container inherits
// nothing from an earlier one even when the kernel hands it the same cgroup id or Docker the same IP.
import { makeEntry, type CachedIdentity, type Entry } from './identity.ts';

export interface LabelCacheOptions {
  graceMs: number;
  startSlackMs: number;
}

type Generations = Entry[]; // ascending started_ms

/** undefined: no generation of this key covers the record's time (miss, too early, or too late). */
export type Lookup = Entry | undefined;

export class LabelCache {
  /** node → cgroup id → generations: two lookups and no string building per record. */
  private readonly byCgroup = new Map<string, Map<string, Generations>>();
  private readonly byIp = new Map<string, Generations>();
  /** container id (or `cg:<id>` for registered cgroups) → its current entry. */
  private readonly byOwner = new Map<string, Entry>();

  private changes = 0;

  constructor(private readonly opts: LabelCacheOptions) {}

  /** Moves on at every change of what a lookup can answer: equal versions, equal answers to equal lookups. */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.byOwner.size;
  }

  entries(): IterableIterator<Entry> {
    return this.byOwner.values();
  }

  static ownerKey(id: CachedIdentity): string {
    if (id.container_id) return `${id.node}/${id.container_id}`;
    if (id.cgroup_id) return `${id.node}/cg:${id.cgroup_id}`;
    throw new Error('identity has neither container_id nor cgroup_id');
  }

  get(node: string, containerId: string): Entry | undefined {
    return this.byOwner.get(`${node}/${containerId}`);
  }

  /** Insert or replace the entry of one container / registered cgroup, re-indexing both keys. */
  upsert(identity: CachedIdentity): Entry {
    const owner = LabelCache.ownerKey(identity);
    this.changes++;
    const old = this.byOwner.get(owner);
    if (old) this.unindex(old);
    const entry = makeEntry(identity);
    this.byOwner.set(owner, entry);
    if (identity.cgroup_id) insert(nodeMap(this.byCgroup, identity.node), identity.cgroup_id, entry);
    for (const ip of identity.ips) insert(this.byIp, `${identity.node}/${ip}`, entry);
    return entry;
  }

  /** die/destroy: the entry keeps attributing records up to diedMs + grace, then sweep() drops it. */
  markDead(node: string, ownerId: string, diedMs: number): Entry | undefined {
    const entry = this.byOwner.get(`${node}/${ownerId}`);
    if (!entry) return undefined;
    if (entry.identity.died_ms !== undefined && entry.identity.died_ms <= diedMs) return entry;
    return this.upsert({ ...entry.identity, died_ms: diedMs });
  }

  /** Drop entries whose grace (or registration) ended by `nowMs`; returns them for the shared store. */
  sweep(nowMs: number): Entry[] {
    const removed: Entry[] = [];
    for (const [owner, e] of this.byOwner) {
      const died = e.identity.died_ms;
      const expired =
        (died !== undefined && died + this.opts.graceMs <= nowMs) ||
        (e.identity.expires_ms !== undefined && e.identity.expires_ms <= nowMs);
      if (!expired) continue;
      this.changes++;
      this.byOwner.delete(owner);
      this.unindex(e);
      removed.push(e);
    }
    return removed;
  }

  lookupCgroup(node: string, cgroupId: string, wallMs: number): Lookup {
    return this.pick(this.byCgroup.get(node)?.get(cgroupId), wallMs);
  }

  lookupIp(node: string, ip: string, wallMs: number): Lookup {
    return this.pick(this.byIp.get(`${node}/${ip}`), wallMs);
  }

  private pick(gens: Generations | undefined, wallMs: number): Lookup {
    if (!gens) return undefined;
    for (let i = gens.length - 1; i >= 0; i--) {
      const e = gens[i]!;
      if (e.identity.started_ms - this.opts.startSlackMs > wallMs) continue;
      const died = e.identity.died_ms;
      if (died !== undefined && died + this.opts.graceMs < wallMs) return undefined;
      return e;
    }
    return undefined;
  }

  private unindex(e: Entry): void {
    const id = e.identity;
    if (id.cgroup_id) remove(nodeMap(this.byCgroup, id.node), id.cgroup_id, e);
    for (const ip of id.ips) remove(this.byIp, `${id.node}/${ip}`, e);
  }
}

function nodeMap(m: Map<string, Map<string, Generations>>, node: string): Map<string, Generations> {
  let inner = m.get(node);
  if (!inner) m.set(node, (inner = new Map()));
  return inner;
}

function insert(map: Map<string, Generations>, key: string, e: Entry): void {
  const gens = map.get(key);
  if (!gens) return void map.set(key, [e]);
  gens.push(e);
  gens.sort((a, b) => a.identity.started_ms - b.identity.started_ms);
}

function remove(map: Map<string, Generations>, key: string, e: Entry): void {
  const gens = map.get(key);
  if (!gens) return;
  const i = gens.indexOf(e);
  if (i >= 0) gens.splice(i, 1);
  if (gens.length === 0) map.delete(key);
}
