// domain_hash → name, per cgroup, learned from the kernel's DNS records (P7 without scanning maps).
// The kernel attributes a connect by the label-wise hash of the name the cgroup resolved
// (bpf/name_hash.h); the name itself travels only in DNS records. This table remembers, per
// cgroup, which name each hash stood for, so an egress event can carry dst_host. Per cgroup, like
// the kernel cache: one container's lookups never name another's traffic. A name is learned only
// if it hashes to the record's hash, which drops truncated qnames (> 120 bytes) and anything
// garbled. Pure, no I/O.
//
// Keyed node → cgroup id → hash (cgroup ids are per node) so the hot path builds no strings.
// Bounded, approximately least recently used first: a lookup moves an entry to the young end only
// once it has aged by half the bound, so the common lookup is three Map reads and no writes.
import { nameHash } from '@sluice/contracts';

export interface DnsNamesOptions {
  /** Entries over all cgroups (default 100,000). */
  maxEntries?: number;
}

interface Entry {
  readonly node: string;
  readonly cgroupId: string;
  readonly hash: bigint;
  readonly name: string;
  /** `tick` when it last moved to the young end. */
  touched: number;
}

export class DnsNames {
  private readonly max: number;
  private readonly byNode = new Map<string, Map<string, Map<bigint, Entry>>>();
  // Insertion order is age: the oldest entry is first.
  private readonly order = new Set<Entry>();
  private tick = 0;
  /** DNS records whose qname did not hash to their domain_hash (truncated or garbled): not learned. */
  rejected = 0;
  /** Names learned for the first time (not repeats): lets a caller tell new knowledge from old. */
  learnedCount = 0;

  constructor(opts: DnsNamesOptions = {}) {
    this.max = opts.maxEntries ?? 100_000;
    if (!(this.max > 0)) throw new Error(`DnsNames maxEntries must be > 0, got ${opts.maxEntries}`);
  }

  get size(): number {
    return this.order.size;
  }

  /** From a DNS record: the node and cgroup that resolved, the kernel's hash, the qname. */
  learn(node: string, cgroupId: string, domainHash: bigint, qname: string): boolean {
    return this.learnName(node, cgroupId, domainHash, qname) !== undefined;
  }

  /** learn, answering the name as the table now holds it (what lookup answers next), or undefined when it was not learnt. */
  learnName(node: string, cgroupId: string, domainHash: bigint, qname: string): string | undefined {
    const known = this.get(node, cgroupId, domainHash);
    // A repeat answer (every lookup of a name, one record per address) costs no re-hash.
    if (known !== undefined && (known.name === qname || known.name === normalise(qname))) {
      this.touch(known);
      return known.name;
    }
    if (domainHash === 0n || nameHash(qname) !== domainHash) {
      this.rejected++;
      return undefined;
    }
    if (known) this.remove(known);
    const e: Entry = { node, cgroupId, hash: domainHash, name: normalise(qname), touched: ++this.tick };
    let cgs = this.byNode.get(node);
    if (!cgs) this.byNode.set(node, (cgs = new Map()));
    let hashes = cgs.get(cgroupId);
    if (!hashes) cgs.set(cgroupId, (hashes = new Map()));
    hashes.set(domainHash, e);
    this.order.add(e);
    this.learnedCount++;
    if (this.order.size > this.max) this.remove(this.order.values().next().value!);
    return e.name;
  }

  /** The name for an egress record's domain_hash in its cgroup, if this process has seen it. */
  lookup(node: string, cgroupId: string, domainHash: bigint): string | undefined {
    if (domainHash === 0n) return undefined;
    const e = this.get(node, cgroupId, domainHash);
    if (e === undefined) return undefined;
    if (this.tick - e.touched >= this.max / 2) this.touch(e);
    return e.name;
  }

  /** A cgroup died (ids can be reused): forget its names. */
  forgetCgroup(node: string, cgroupId: string): void {
    const cgs = this.byNode.get(node);
    const hashes = cgs?.get(cgroupId);
    if (!cgs || !hashes) return;
    for (const e of hashes.values()) this.order.delete(e);
    cgs.delete(cgroupId);
    if (cgs.size === 0) this.byNode.delete(node);
  }

  private get(node: string, cgroupId: string, hash: bigint): Entry | undefined {
    return this.byNode.get(node)?.get(cgroupId)?.get(hash);
  }

  private touch(e: Entry): void {
    e.touched = ++this.tick;
    this.order.delete(e);
    this.order.add(e);
  }

  private remove(e: Entry): void {
    this.order.delete(e);
    const cgs = this.byNode.get(e.node);
    const hashes = cgs?.get(e.cgroupId);
    if (!cgs || !hashes) return;
    hashes.delete(e.hash);
    if (hashes.size > 0) return;
    cgs.delete(e.cgroupId);
    if (cgs.size === 0) this.byNode.delete(e.node);
  }
}

const normalise = (qname: string): string => qname.toLowerCase().replace(/\.$/, '');
