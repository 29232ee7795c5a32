// sluice.api.identity.* (IDENTITY_API in contracts), served with the rpc kit. `register` gives a
// non-Docker cgroup (`sluice run`) an agent/project so its records are attributed `registered`;
// `unregister` ends that; `lookup` answers by cgroup id or IP for readers and the CLI; `snapshot`
// lists this node's live workloads so the policy service can repair a lost lifecycle message.
// Refusals come back in the one envelope, so the caller (the CLI, `sluice run`) sees the reason.
import type { z } from 'zod';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { encodeToken, IDENTITY_API, labelValueProblem, type IdentityRequests, type IdentitySnapshot } from '@sluice/contracts';
import { RpcError, serveApi, type Handlers, type Logger } from '@sluice/runtime';
import { cgroupIdOfPath } from './cgroup.ts';
import type { CachedIdentity } from './identity.ts';
import type { IdentityStore } from './identity-store.ts';
import type { LabelCache } from './label-cache.ts';
import { lifecycleMessage, type ControlMessage } from './lifecycle.ts';

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
   * registered cgroup's map entry from `start` and removes it on `destroy`. It must throw when the
   * message did not land: the request then fails `unavailable` (see announce below).
   */
  publish?: (msg: ControlMessage) => Promise<void>;
  now?: () => number;
}

export async function register(d: IdentityApiDeps, req: z.output<typeof IdentityRequests.register>, nowMs: number): Promise<CachedIdentity> {
  const node = req.node ?? d.node;
  if (node !== d.node) throw new RpcError('bad_request', `node ${JSON.stringify(node)} is not this attributor's node ${JSON.stringify(d.node)}`);
  // A value the pipeline cannot carry is refused here, where the caller hears why (label-value.ts).
  for (const label of ['agent', 'project'] as const) {
    const v = req[label];
    const problem = v === undefined ? undefined : labelValueProblem(v);
    if (problem) throw new RpcError('bad_request', `${label}: ${problem.reason}: ${problem.detail}`);
  }
  let cgroupId = req.cgroup_id;
  if (req.cgroup_path !== undefined) {
    let fromPath: string;
    try {
      fromPath = await cgroupIdOfPath(d.cgroupMount, req.cgroup_path);
    } catch (err) {
      throw new RpcError('bad_request', `cgroup_path ${JSON.stringify(req.cgroup_path)}: ${(err as Error).message}`);
    }
    if (cgroupId !== undefined && cgroupId !== fromPath) {
      throw new RpcError('bad_request', `cgroup_id ${cgroupId} is not the id of ${req.cgroup_path} (${fromPath})`);
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
export function forThisNode(body: unknown, node: string): boolean {
  const named = (body as { node?: unknown } | undefined)?.node;
  return named === undefined || named === node;
}

/** The live workloads of this node that own a cgroup (what the policy service keys entries on). */
export function snapshotOf(cache: LabelCache, node: string, nowMs: number): IdentitySnapshot {
  const identities: CachedIdentity[] = [];
  for (const e of cache.entries()) {
    const id = e.identity;
    if (id.node === node && id.cgroup_id !== undefined && id.died_ms === undefined && (id.expires_ms === undefined || id.expires_ms > nowMs)) identities.push(id);
  }
  return { node, at_ms: nowMs, identities };
}

/**
 * A registration the policy service never hears of answered OK would leave the command running
 * without its cgroup's entry until the next identity repair (up to a minute, and a `sluice run`
 * waits less than that): so a lifecycle message that cannot land fails the request, naming why.
 * The identity stays cached: a retried request is harmless (a new message id, the same entry).
 */
async function announce(d: IdentityApiDeps, msg: ControlMessage, what: string): Promise<void> {
  try {
    await d.publish?.(msg);
  } catch (err) {
    throw new RpcError('unavailable', `${what}, but the policy service could not be told (${(err as Error).message}); try again`);
  }
}

export function identityHandlers(d: IdentityApiDeps): Handlers<typeof IDENTITY_API> {
  const now = d.now ?? Date.now;
  return {
    register: async (req) => {
      const at = now();
      const identity = await register(d, req, at);
      await announce(d, lifecycleMessage('start', identity, at, `registered-${at}`), `cgroup ${identity.cgroup_id} registered on ${identity.node}`);
      d.log.info({ cgroup: identity.cgroup_id, agent: identity.agent, project: identity.project }, 'cgroup registered');
      return identity;
    },
    unregister: async (req) => {
      const node = req.node ?? d.node;
      const at = now();
      const entry = d.cache.markDead(node, `cg:${req.cgroup_id}`, at);
      if (!entry) throw new RpcError('not_found', `cgroup ${req.cgroup_id} is not registered on ${node}`);
      d.store.put(entry.identity);
      await announce(d, lifecycleMessage('destroy', entry.identity, at, `unregistered-${at}`), `cgroup ${req.cgroup_id} unregistered on ${node}`);
      return entry.identity;
    },
    lookup: async (req) => {
      const node = req.node ?? d.node;
      const at = now();
      const hit = req.cgroup_id !== undefined ? d.cache.lookupCgroup(node, req.cgroup_id, at) : d.cache.lookupIp(node, req.ip!, at);
      if (hit) return hit.identity;
      const stored = req.cgroup_id !== undefined ? await d.store.getByCgroup(node, req.cgroup_id) : await d.store.getByIp(node, req.ip!);
      // The store keeps dead identities for late records; "who is it now" is not one of them.
      if (!stored || (stored.died_ms !== undefined && stored.died_ms + d.graceMs < at)) return null;
      return stored;
    },
    snapshot: async () => snapshotOf(d.cache, d.node, now()),
  };
}

export function startIdentityApi(d: IdentityApiDeps): Subscription {
  return serveApi(d.nc, IDENTITY_API, identityHandlers(d), {
    // One queue group per node: every node's attributors see each request once, and only the
    // node it names answers (a request naming no node is answered by whichever replies first).
    queue: `attributor-${encodeToken(d.node)}`,
    log: d.log,
    accepts: (body) => forThisNode(body, d.node),
  });
}
