// Stage 3 of a raw batch (batch-pipeline.ts): the cgroups the label cache cannot attribute yet are
// resolved (Docker, the cgroup scan, Redis: resolver.ts) before rendering, so a container's first
// records are attributed rather than `unknown`.
import type { DecodedBatch, Lookup } from './decode.ts';

export interface IdentityResolver {
  resolve(node: string, cgroupIds: Iterable<string>): Promise<void>;
}

/** Cgroup ids of the batch the lookup cannot attribute (to resolve before rendering). */
export function unattributed(batch: DecodedBatch, lookup: Lookup): Set<string> {
  const out = new Set<string>();
  const { node } = batch.meta;
  for (const r of batch.records) {
    if (r && !out.has(r.cgroupId) && !lookup(node, r.cgroupId, r.wallMs)) out.add(r.cgroupId);
  }
  return out;
}


export async function resolveIdentities(batch: DecodedBatch, lookup: Lookup, resolver: IdentityResolver): Promise<void> {
  const unknown = unattributed(batch, lookup);
  if (unknown.size > 0) await resolver.resolve(batch.meta.node, unknown);
}
