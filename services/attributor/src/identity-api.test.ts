import { describe, expect, it } from 'vitest';
import { RpcError } from '@sluice/runtime';
import { forThisNode, identityHandlers, snapshotOf } from './identity-api.ts';
import { LabelCache } from './label-cache.ts';

describe('identity API node routing', () => {
  it('answers requests for its node or naming none, stays silent for another node', () => {
    expect(forThisNode({ node: 'n1', cgroup_id: '5' }, 'n1')).toBe(true);
    expect(forThisNode({ cgroup_id: '5' }, 'n1')).toBe(true);
    expect(forThisNode({ node: 'n2', cgroup_id: '5' }, 'n1')).toBe(false);
    expect(forThisNode(undefined, 'n1')).toBe(true); // malformed: answered with the parse error
  });
});

describe('identity snapshot', () => {
  it('lists live workloads of this node that own a cgroup, nothing dead, expired or foreign', () => {
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
    const base = { attribution: 'docker' as const, ips: [], started_ms: 0, can_bypass_raw: false };
    cache.upsert({ ...base, node: 'n1', cgroup_id: '10', container_id: 'live', project: 'p', agent: 'a' });
    cache.upsert({ ...base, node: 'n1', cgroup_id: '11', container_id: 'dead' });
    cache.markDead('n1', 'dead', 50);
    cache.upsert({ ...base, node: 'n1', container_id: 'no-cgroup-yet' });
    cache.upsert({ ...base, node: 'n2', cgroup_id: '12', container_id: 'other-node' });
    cache.upsert({ ...base, attribution: 'registered', node: 'n1', cgroup_id: '13', expires_ms: 90 });
    cache.upsert({ ...base, attribution: 'registered', node: 'n1', cgroup_id: '14', expires_ms: 200 });
    const snap = snapshotOf(cache, 'n1', 100);
    expect(snap).toMatchObject({ node: 'n1', at_ms: 100 });
    expect(snap.identities.map((i) => i.cgroup_id).sort()).toEqual(['10', '14']);
  });
});

describe('identity API announcements', () => {
  // Fault injection: a control publish that does not land (JetStream timing out) is what the
  // cluster tier could not produce on demand; the handler must fail the request, not answer OK.
  const deps = (publish: () => Promise<void>) => {
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 0 });
    const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
    const store = { put() {} } as never;
    return { nc: undefined as never, node: 'n1', cgroupMount: '/sys/fs/cgroup', cache, store, graceMs: 1000, log, publish, now: () => 100 };
  };

  it('register fails unavailable, naming the cgroup and the cause, when its start message cannot land', async () => {
    const h = identityHandlers(deps(() => Promise.reject(new Error('TimeoutError: timeout'))));
    const err = await Promise.resolve()
      .then(() => h.register({ cgroup_id: '42', agent: 'a', project: 'p', ttl_s: 60 } as never))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toContain('cgroup 42 registered on n1, but the policy service could not be told (TimeoutError: timeout)');
  });

  it('register answers the identity when the start message lands', async () => {
    let sent = 0;
    const h = identityHandlers(deps(async () => void sent++));
    await expect(Promise.resolve(h.register({ cgroup_id: '43', agent: 'a', project: 'p', ttl_s: 60 } as never))).resolves.toMatchObject({ cgroup_id: '43', agent: 'a' });
    expect(sent).toBe(1);
  });
});
