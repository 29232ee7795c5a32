// domain_hash → name, per cgroup, learned from the kernel's DNS records (P7 without scanning maps).
// The kernel attributes a connect by the label-wise hash of the name the cgroup resolved
// (bpf/name_hash.h); the name itself travels only in DNS records. This table remembers, per
// cgroup, which name each hash stood for, so an egress event can carry dst_host. Per cgroup, like
// the kernel cache: one container's lookups never name another's traffic. A name is learned only
// if it hashes to the record's hash, which drops truncated qnames (> 120 bytes) and anything
// garbled. Bounded: the least recently used entries go first. Pure, no I/O.
import { nameHash } from '@sluice/contracts';

export interface DnsNamesOptions {
  /** Entries over all cgroups (default 100,000). */
  maxEntries?: number;
}

export class DnsNames {
  private readonly max: number;
  // Insertion order doubles as recency: a hit or a re-learn moves the entry to the end.
  private readonly entries = new Map<string, string>();
  /** DNS records whose qname did not hash to their domain_hash (truncated or garbled): not learned. */
  rejected = 0;

  constructor(opts: DnsNamesOptions = {}) {
    this.max = opts.maxEntries ?? 100_000;
    if (!(this.max > 0)) throw new Error(`DnsNames maxEntries must be > 0, got ${opts.maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** From a DNS record: the cgroup that resolved, the kernel's hash, the qname. */
  learn(cgroupId: string, domainHash: bigint, qname: string): boolean {
    if (domainHash === 0n || nameHash(qname) !== domainHash) {
      this.rejected++;
      return false;
    }
    const key = `${cgroupId}/${domainHash}`;
    this.entries.delete(key);
    this.entries.set(key, qname.toLowerCase().replace(/\.$/, ''));
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return true;
  }

  /** The name for an egress record's domain_hash in its cgroup, if this process has seen it. */
  lookup(cgroupId: string, domainHash: bigint): string | undefined {
    if (domainHash === 0n) return undefined;
    const key = `${cgroupId}/${domainHash}`;
    const name = this.entries.get(key);
    if (name !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, name);
    }
    return name;
  }

  /** A cgroup died (ids can be reused): forget its names. */
  forgetCgroup(cgroupId: string): void {
    const prefix = `${cgroupId}/`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
