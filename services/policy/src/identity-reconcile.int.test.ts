// A lost lifecycle `start` is repaired from the attributor's identity snapshot, over a private
// nats-server running infra/nats/accounts.conf: the attributor's real identity API (its own NATS
// user) answers the policy service's real reconcile (the policy user, allowed exactly this verb).
// The attributor knows the container; no `start` message ever reached the policy side.
import { ContainerLifecycle } from '@sluice/contracts';
import { createLogger } from '@sluice/runtime';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityApi } from '../../attributor/src/identity-api.ts';
import type { IdentityStore } from '../../attributor/src/identity-store.ts';
import { LabelCache } from '../../attributor/src/label-cache.ts';
import type { Workload } from './compile.ts';
import { reconcileIdentities } from './identity-reconcile.ts';
import { startAccountsNats, TEST_PASSWORDS, type TestNats } from '@sluice/testkit';

const log = createLogger('reconcile-test', 'silent');
const node = 'reconcile-node';
let nats: TestNats;
let attributor: NatsConnection;
let policy: NatsConnection;
let api: Subscription;
const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });

beforeAll(async () => {
  nats = await startAccountsNats();
  attributor = await nats.connectAs('attributor', TEST_PASSWORDS.SLUICE_ATTRIBUTOR_PASSWORD);
  policy = await nats.connectAs('policy', TEST_PASSWORDS.SLUICE_POLICY_PASSWORD);
  // The snapshot reads the cache only; the Redis store is not involved.
  api = startIdentityApi({ nc: attributor, node, cgroupMount: '/nonexistent', cache, store: undefined as unknown as IdentityStore, graceMs: 1000, log });
  await attributor.flush();
});

afterAll(async () => {
  await api?.drain();
  await attributor?.close();
  await policy?.close();
  await nats?.stop();
});

describe('policy reconcile against the identity snapshot', () => {
  it('installs the container whose start was lost, once, counted', async () => {
    cache.upsert({ attribution: 'docker', node, cgroup_id: '4242', container_id: 'c-lost', project: 'demo', agent: 'bot', ips: ['172.17.0.9'], started_ms: Date.now() - 1000, can_bypass_raw: false });
    cache.upsert({ attribution: 'docker', node, cgroup_id: '4343', container_id: 'c-known', project: 'demo', agent: 'old', ips: [], started_ms: Date.now() - 1000, can_bypass_raw: false });
    const workloads = new Map<string, Workload>([['4343', { cgroup_id: '4343', project: 'demo', agent: 'old' }]]);
    const applied: ContainerLifecycle[] = [];
    const outcomes: string[] = [];
    const deps = {
      nc: policy,
      node,
      table: { workload: (cg: string) => workloads.get(cg), retiredAt: () => undefined },
      apply: (m: ContainerLifecycle) => {
        applied.push(ContainerLifecycle.parse(m));
        workloads.set(m.cgroup_id!, { cgroup_id: m.cgroup_id!, project: m.project, agent: m.agent });
      },
      log,
      timeoutMs: 5000,
      metrics: { round: (o: string) => void outcomes.push(o), repaired: () => undefined },
    };
    const repaired = await reconcileIdentities(deps);
    expect(repaired.map((m) => [m.event, m.cgroup_id, m.project, m.agent, m.container_id])).toEqual([['snapshot', '4242', 'demo', 'bot', 'c-lost']]);
    expect(applied).toHaveLength(1);
    // The next round finds nothing missing.
    expect(await reconcileIdentities(deps)).toEqual([]);
    expect(outcomes).toEqual(['ok', 'ok']);
  });

  it('an attributor that is not there is an `unavailable` round, not an error', async () => {
    const outcomes: string[] = [];
    const r = await reconcileIdentities({
      nc: policy,
      node: 'no-such-node',
      table: { workload: () => undefined, retiredAt: () => undefined },
      apply: () => undefined,
      log,
      timeoutMs: 300,
      metrics: { round: (o) => void outcomes.push(o), repaired: () => undefined },
    });
    expect(r).toEqual([]);
    expect(outcomes).toEqual(['unavailable']);
  });
});
