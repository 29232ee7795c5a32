// sluice.api.identity.* request/reply. `register` gives a non-Docker cgroup (`sluice run`) an
// agent/project so its records are attributed `registered`; `unregister` ends that; `lookup`
// answers by cgroup id or IP for readers and the CLI. Replies are JSON
// `{ ok: true, identity }` or `{ ok: false, error }` naming what was wrong.
import { z } from 'zod';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { encodeToken, labelValueProblem, subjects, u64String } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { cgroupIdOfPath } from './cgroup.ts';
import type { CachedIdentity } from './identity.ts';
import type { IdentityStore } from './identity-store.ts';
import type { LabelCache } from './label-cache.ts';
import { lifecycleMessage, type ControlMessage } from './lifecycle.ts';

export const RegisterRequest = z
  .object({
    /** Defaults to the attributor's node; a registration for another node is refused. */
    node: z.string().min(1).optional(),
    cgroup_id: u64String.optional(),
    /** Path under the cgroup2 mount (as in /proc/<pid>/cgroup), resolved to its inode here. */
    cgroup_path: z.string().startsWith('/').optional(),
    agent: z.string().optional(),
    project: z.string().optional(),
    ttl_s: z.number().int().positive().max(30 * 24 * 3600).default(24 * 3600),
  })
  .refine((r) => r.cgroup_id !== undefined || r.cgroup_path !== undefined, 'cgroup_id or cgroup_path is required');

export const UnregisterRequest = z.object({ node: z.string().min(1).optional(), cgroup_id: u64String });

export const LookupRequest = z
  .object({ node: z.string().min(1).optional(), cgroup_id: u64String.optional(), ip: z.string().min(1).optional() })
  .refine((r) => (r.cgroup_id === undefined) !== (r.ip === undefined), 'exactly one of cgroup_id or ip is required');

export interface IdentityApiDeps {
  nc: NatsConnection;
  node: string;
  cgroupMount: string;
  cache: LabelCache;
  store: IdentityStore;
  graceMs: number;
  log: Logger;
  /**
   * Lifecycle messages for registrations, as for containers: the policy service installs the
   * registered cgroup's map entry from `start` and removes it on `destroy`.
   */
  publish?: (msg: ControlMessage) => Promise<void>;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function parse<T extends z.ZodType>(schema: T, data: Uint8Array): z.infer<T> {
  let text: string;
  try {
    // Not the lenient decoder: it would turn a label's invalid bytes into U+FFFD, a value nobody set.
    text = utf8Strict.decode(data);
  } catch {
    throw new Error('request is not valid UTF-8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('request is not JSON');
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; '));
  return r.data;
}

export async function register(d: IdentityApiDeps, req: z.infer<typeof RegisterRequest>, nowMs: number): Promise<CachedIdentity> {
  const node = req.node ?? d.node;
  if (node !== d.node) throw new Error(`node ${JSON.stringify(node)} is not this attributor's node ${JSON.stringify(d.node)}`);
  // A value the pipeline cannot carry is refused here, where the caller hears why (label-value.ts).
  for (const label of ['agent', 'project'] as const) {
    const v = req[label];
    const problem = v === undefined ? undefined : labelValueProblem(v);
    if (problem) throw new Error(`${label}: ${problem.reason}: ${problem.detail}`);
  }
  let cgroupId = req.cgroup_id;
  if (req.cgroup_path !== undefined) {
    let fromPath: string;
    try {
      fromPath = await cgroupIdOfPath(d.cgroupMount, req.cgroup_path);
    } catch (err) {
      throw new Error(`cgroup_path ${JSON.stringify(req.cgroup_path)}: ${(err as Error).message}`);
    }
    if (cgroupId !== undefined && cgroupId !== fromPath) {
      throw new Error(`cgroup_id ${cgroupId} is not the id of ${req.cgroup_path} (${fromPath})`);
    }
    cgroupId = fromPath;
  }
  const identity: CachedIdentity = {
    attribution: 'registered',
    node,
    cgroup_id: cgroupId!,
    ips: [],
    started_ms: nowMs,
    can_bypass_raw: false,
    expires_ms: nowMs + req.ttl_s * 1000,
  };
  if (req.cgroup_path !== undefined) identity.cgroup_path = req.cgroup_path;
  if (req.agent !== undefined) identity.agent = req.agent;
  if (req.project !== undefined) identity.project = req.project;
  d.cache.upsert(identity);
  d.store.put(identity);
  return identity;
}

/** False when the request names another node: that node's attributor answers it. */
export function forThisNode(data: Uint8Array, node: string): boolean {
  try {
    const named = (JSON.parse(new TextDecoder().decode(data)) as { node?: unknown }).node;
    return named === undefined || named === node;
  } catch {
    return true; // malformed: answer with the parse error
  }
}

export function startIdentityApi(d: IdentityApiDeps): Subscription[] {
  const serve = (verb: string, handler: (data: Uint8Array) => Promise<unknown>): Subscription =>
    d.nc.subscribe(subjects.api('identity', verb), {
      // One queue group per node: every node's attributors see each request once, and only the
      // node it names answers (a request naming no node is answered by whichever replies first).
      queue: `attributor-${encodeToken(d.node)}`,
      callback: (err, msg) => {
        if (err) return d.log.error({ err }, `identity ${verb} subscription failed`);
        if (!forThisNode(msg.data, d.node)) return;
        handler(msg.data)
          .then((identity) => msg.respond(JSON.stringify({ ok: true, identity: identity ?? null })))
          .catch((e: unknown) => {
            d.log.info({ verb, error: (e as Error).message }, 'identity request refused');
            msg.respond(JSON.stringify({ ok: false, error: (e as Error).message }));
          });
      },
    });
  return [
    serve('register', async (data) => {
      const now = Date.now();
      const identity = await register(d, parse(RegisterRequest, data), now);
      await d.publish?.(lifecycleMessage('start', identity, now, `registered-${now}`));
      d.log.info({ cgroup: identity.cgroup_id, agent: identity.agent, project: identity.project }, 'cgroup registered');
      return identity;
    }),
    serve('unregister', async (data) => {
      const req = parse(UnregisterRequest, data);
      const node = req.node ?? d.node;
      const entry = d.cache.markDead(node, `cg:${req.cgroup_id}`, Date.now());
      if (!entry) throw new Error(`cgroup ${req.cgroup_id} is not registered on ${node}`);
      d.store.put(entry.identity);
      const now = Date.now();
      await d.publish?.(lifecycleMessage('destroy', entry.identity, now, `unregistered-${now}`));
      return entry.identity;
    }),
    serve('lookup', async (data) => {
      const req = parse(LookupRequest, data);
      const node = req.node ?? d.node;
      const now = Date.now();
      const hit = req.cgroup_id !== undefined ? d.cache.lookupCgroup(node, req.cgroup_id, now) : d.cache.lookupIp(node, req.ip!, now);
      if (hit) return hit.identity;
      const stored = req.cgroup_id !== undefined ? await d.store.getByCgroup(node, req.cgroup_id) : await d.store.getByIp(node, req.ip!);
      // The store keeps dead identities for late records; "who is it now" is not one of them.
      if (!stored || (stored.died_ms !== undefined && stored.died_ms + d.graceMs < now)) return undefined;
      return stored;
    }),
  ];
}
