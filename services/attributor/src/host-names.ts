// Stages 2 and 4 of a raw batch (batch-pipeline.ts): what a decoded batch teaches the name table
// (its DNS records: learnNames), and the name of each egress record's destination (dst_host:
// nameDestinations), from this replica's table and, for the hashes it cannot name, the shared
// store (dns-name-store.ts).
//
// Order within a batch does not matter: every DNS record of the batch is learned before any
// record is named, and a hash stands for one name whatever record carried it. Across batches on
// one replica, a batch's names are learned synchronously on arrival, before any later batch is
// named. Across replicas, see dns-name-store.ts.
import type { DnsNames } from './dns-names.ts';
import type { DecodedBatch } from './decode.ts';

export interface LearnedName {
  cgroupId: string;
  hash: bigint;
  name: string;
  /** First time this process saw it (not a repeat answer). */
  fresh: boolean;
}

export interface LearnResult {
  names: LearnedName[];
  /** DNS records whose qname did not hash to their domain_hash (truncated, garbled). */
  rejected: number;
}

export function learnNames(batch: DecodedBatch, names: DnsNames): LearnResult {
  const out: LearnedName[] = [];
  let rejected = 0;
  const node = batch.meta.node;
  for (const r of batch.records) {
    if (!r || r.out !== 'dns' || r.qname === undefined || r.domainHash === 0n) continue;
    const before = names.learnedCount;
    const name = names.learnName(node, r.cgroupId, r.domainHash, r.qname);
    if (name === undefined) {
      rejected++;
      continue;
    }
    out.push({ cgroupId: r.cgroupId, hash: r.domainHash, name, fresh: names.learnedCount > before });
  }
  return { names: out, rejected };
}

export interface BatchHosts {
  /** Index i: record i's dst_host, if it is an egress record whose name the table knows. */
  hosts: Array<string | undefined>;
  /** cgroup id → hashes its egress records carry that the table cannot name (yet). */
  misses: Map<string, Set<bigint>>;
}

export function nameBatch(batch: DecodedBatch, names: DnsNames): BatchHosts {
  const hosts: Array<string | undefined> = new Array(batch.records.length);
  const misses = new Map<string, Set<bigint>>();
  const node = batch.meta.node;
  for (let i = 0; i < batch.records.length; i++) {
    const r = batch.records[i];
    if (!r || r.out !== 'egress' || r.domainHash === 0n) continue;
    const name = names.lookup(node, r.cgroupId, r.domainHash);
    if (name !== undefined) {
      hosts[i] = name;
      continue;
    }
    let s = misses.get(r.cgroupId);
    if (!s) misses.set(r.cgroupId, (s = new Set()));
    s.add(r.domainHash);
  }
  return { hosts, misses };
}

/** What nameDestinations asks for the hashes this replica's table cannot name (dns-name-store.ts). */
export interface SharedNames {
  resolve(node: string, misses: Map<string, Set<bigint>>): Promise<void>;
}

/** Each egress record's dst_host: the local table first, then the shared store for what missed. */
export async function nameDestinations(batch: DecodedBatch, names: DnsNames, shared?: SharedNames): Promise<BatchHosts> {
  const b = nameBatch(batch, names);
  if (b.misses.size > 0 && shared) {
    await shared.resolve(batch.meta.node, b.misses);
    renameMisses(batch, names, b);
  }
  return b;
}

/** After the shared store taught the table more: name the records that missed. */
export function renameMisses(batch: DecodedBatch, names: DnsNames, b: BatchHosts): void {
  if (b.misses.size === 0) return;
  const node = batch.meta.node;
  for (let i = 0; i < batch.records.length; i++) {
    const r = batch.records[i];
    if (!r || r.out !== 'egress' || r.domainHash === 0n || b.hosts[i] !== undefined) continue;
    if (b.misses.get(r.cgroupId)?.has(r.domainHash)) b.hosts[i] = names.lookup(node, r.cgroupId, r.domainHash);
  }
}
