// Stage 3 of a raw batch (batch-pipeline.ts): the cgroups the label cache cannot attribute yet are
// resolved (Docker, the cgroup scan, Redis: resolver.ts) before rendering, so a container's first
// records are attributed rather than `unknown`.
import type { DecodedBatch, Lookup } from './decode.ts';
import type { Entry } from './identity.ts';

export interface IdentityResolver {
  resolve(node: string, cgroupIds: Iterable<string>): Promise<void>;
}

/**
 * Cgroup ids of the batch the lookup cannot attribute (to resolve before rendering). `found`:
 * filled with each record's answer, for render to reuse while the cache has not changed.
 */
export function unattributed(batch: DecodedBatch, lookup: Lookup, found?: Array<Entry | undefined>): Set<string> {
  const out = new Set<string>();
  const { node } = batch.meta;
  const records = batch.records;
  if (found) {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!r) continue;
      const e = (found[i] = lookup(node, r.cgroupId, r.wallMs));
      if (!e) out.add(r.cgroupId);
    }
    return out;
  }
  for (const r of records) {
    if (r && !out.has(r.cgroupId) && !lookup(node, r.cgroupId, r.wallMs)) out.add(r.cgroupId);
  }
  return out;
}


export async function resolveIdentities(batch: DecodedBatch, lookup: Lookup, resolver: IdentityResolver, found?: Array<Entry | undefined>): Promise<void> {
  const unknown = unattributed(batch, lookup, found);
  if (unknown.size > 0) await resolver.resolve(batch.meta.node, unknown);
}
