// The attributor's identity API: sluice.api.identity.<verb>. `register` gives a non-Docker cgroup
// (`sluice run`) an agent/project; `unregister` ends that; `lookup` answers by cgroup id or IP;
// `snapshot` lists every live workload the node's attributor knows, which the policy service
// reconciles its container table against (a lost lifecycle message is repaired, not permanent).
//
// Each node's attributors form one queue group and answer only requests naming their node (or
// none), so a request naming a node reaches exactly that node's attributor.
import { z } from 'zod';
import { ContainerLifecycle, u64String } from './events.ts';
import { defineApi } from './rpc.ts';

/** What the attributor knows about the workload behind one cgroup. */
export const WorkloadIdentity = z.object({
  attribution: z.enum(['docker', 'registered']),
  node: z.string().min(1),
  cgroup_id: u64String.optional(),
  cgroup_path: z.string().optional(),
  container_id: z.string().optional(),
  container_name: z.string().optional(),
  image: z.string().optional(),
  agent: z.string().optional(),
  project: z.string().optional(),
  ips: z.array(z.string()),
  /** Wall-clock ms from which records belong to this identity (cgroup id reuse guard). */
  started_ms: z.number(),
  /** Wall-clock ms of die/destroy (or unregister): records after died_ms + grace are not its. */
  died_ms: z.number().optional(),
  can_bypass_raw: z.boolean(),
  /** Registered (non-Docker) identities end here unless renewed. */
  expires_ms: z.number().optional(),
});
export type WorkloadIdentity = z.infer<typeof WorkloadIdentity>;

const node = z.string().min(1);

export const IdentityRequests = {
  register: z
    .object({
      /** Defaults to the attributor's node; a registration for another node is not answered there. */
      node: node.optional(),
      cgroup_id: u64String.optional(),
      /** Path under the cgroup2 mount (as in /proc/<pid>/cgroup), resolved to its inode there. */
      cgroup_path: z.string().startsWith('/').optional(),
      agent: z.string().optional(),
      project: z.string().optional(),
      ttl_s: z.number().int().positive().max(30 * 24 * 3600).default(24 * 3600),
    })
    .refine((r) => r.cgroup_id !== undefined || r.cgroup_path !== undefined, 'cgroup_id or cgroup_path is required'),
  unregister: z.object({ node: node.optional(), cgroup_id: u64String }),
  lookup: z
    .object({ node: node.optional(), cgroup_id: u64String.optional(), ip: z.string().min(1).optional() })
    .refine((r) => (r.cgroup_id === undefined) !== (r.ip === undefined), 'exactly one of cgroup_id or ip is required'),
  snapshot: z.object({ node: node.optional() }),
} as const;

export const IdentitySnapshot = z.object({
  node,
  /** When the snapshot was taken (ms): lifecycle messages newer than this win over it. */
  at_ms: z.number(),
  /** Live workloads with a cgroup id (the ones the policy service keys map entries on). */
  identities: z.array(WorkloadIdentity),
});
export type IdentitySnapshot = z.infer<typeof IdentitySnapshot>;

export const IdentityResponses = {
  register: WorkloadIdentity,
  unregister: WorkloadIdentity,
  lookup: WorkloadIdentity.nullable(),
  snapshot: IdentitySnapshot,
} as const;

export const IDENTITY_API = defineApi('identity', 'attributor', IdentityRequests, IdentityResponses);

/** The lifecycle message announcing `identity` (the attributor publishes these; a snapshot repair builds the same). */
export function lifecycleOf(event: ContainerLifecycle['event'], identity: WorkloadIdentity, atMs: number): ContainerLifecycle {
  const msg: ContainerLifecycle = {
    event,
    time: new Date(atMs).toISOString(),
    node: identity.node,
    attribution: identity.attribution,
    container_id: identity.container_id ?? '',
    ips: identity.ips,
    can_bypass_raw: identity.can_bypass_raw,
    started_at: new Date(identity.started_ms).toISOString(),
  };
  for (const k of ['agent', 'project', 'container_name', 'image', 'cgroup_id', 'cgroup_path'] as const) {
    if (identity[k] !== undefined) msg[k] = identity[k];
  }
  return ContainerLifecycle.parse(msg);
}
