// D27 at the receiver: `agent`/`project` are what the sender's resource attributes say when it
// said them; otherwise the labels of the container that sent the request, found by its source IP
// in the attributor's IP index (P13). Values are taken exactly as they are, never made up: a sender
// nobody knows stays `attribution: unknown`. When the resource claims a workload other than the
// container the request came from (the agent is the adversary), the claim is kept as the sender's
// word and flagged, and the container stays named by its id.
import type { OtlpAttribution, OtlpValue, WorkloadIdentity } from '@sluice/contracts';

export interface AttributionKeys {
  agent: readonly string[];
  project: readonly string[];
}

export interface AttributionFields {
  attribution: OtlpAttribution;
  agent?: string;
  project?: string;
  container_id?: string;
  container_name?: string;
  image?: string;
  attribution_conflict?: boolean;
}

function claimed(resource: Record<string, OtlpValue>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = resource[k];
    // Only a string is a label value; a number or map there is not one, and is not turned into one.
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

export function attribute(resource: Record<string, OtlpValue>, sender: WorkloadIdentity | null, keys: AttributionKeys): AttributionFields {
  const agent = claimed(resource, keys.agent);
  const project = claimed(resource, keys.project);
  const out: AttributionFields = { attribution: 'unknown' };
  if (sender) {
    out.attribution = sender.attribution;
    if (sender.agent !== undefined) out.agent = sender.agent;
    if (sender.project !== undefined) out.project = sender.project;
    if (sender.container_id) out.container_id = sender.container_id;
    if (sender.container_name !== undefined) out.container_name = sender.container_name;
    if (sender.image !== undefined) out.image = sender.image;
  }
  if (agent === undefined && project === undefined) return out;
  const conflict = sender !== null && ((agent !== undefined && agent !== sender.agent) || (project !== undefined && project !== sender.project));
  out.attribution = 'resource';
  if (agent !== undefined) out.agent = agent;
  if (project !== undefined) out.project = project;
  if (conflict) out.attribution_conflict = true;
  return out;
}
