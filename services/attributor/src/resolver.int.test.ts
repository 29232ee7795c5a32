// The miss path against the real cgroup tree and Docker: a container whose start event was never
// handled (as when a short-lived one races it) is found by scanning the cgroup tree for the
// record's cgroup id; scans are rate limited; ids that are nobody's stay unknown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/runtime';
import { AttributorHarness } from '@sluice/testkit';
import { ContainerWatch } from './container-watch.ts';
import { IdentityStore } from './identity-store.ts';
import { LabelCache } from './label-cache.ts';
import type { AttributorMetrics } from './metrics.ts';
import { MissResolver } from './resolver.ts';

const h = new AttributorHarness();
const log = createLogger('resolver-test', 'silent');
const counts = new Map<string, number>();
const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
// A recording sink for the counters (not a server): the test reads what the resolver counted.
const metrics = {
  stage: { handled: () => undefined, dropped: (r: string) => bump(`drop:${r}`) },
  attributed: () => undefined,
  published: () => undefined,
  retried: () => undefined,
  redisError: (op: string) => bump(`redis:${op}`),
  redisDeferred: () => undefined,
  dockerEvent: () => undefined,
  cgroupScan: (r: string) => bump(`scan:${r}`),
  lifecycle: () => undefined,
} as unknown as AttributorMetrics;
let store: IdentityStore;

beforeAll(async () => {
  await h.setup();
  store = new IdentityStore({ url: h.redisUrl, prefix: `sluice-it:${h.run}`, liveTtlS: 60, deadTtlS: 60 }, log, metrics);
  await store.connect();
});

afterAll(async () => {
  await store.close();
  await h.teardown();
});

describe('miss resolver', () => {
  it('finds an unannounced container by scanning for its cgroup inode, rate limited', async () => {
    const c = await h.runContainer({ 'dev.clawker.agent': 'racer', 'dev.clawker.project': `scan-${h.run}` });
    const cache = new LabelCache({ graceMs: 1000, startSlackMs: 500 });
    const published: string[] = [];
    const watch = new ContainerWatch({
      docker: h.docker,
      cache,
      store,
      node: h.node,
      cgroupMount: h.mount,
      scopes: ['/'],
      labels: { agent: 'dev.clawker.agent', project: 'dev.clawker.project' },
      publish: async (m) => void published.push(m.subject),
      log,
      metrics,
    }); // never started: it has seen no event for this container
    const resolver = new MissResolver({ node: h.node, cgroupMount: h.mount, scanIntervalMs: 60_000, negativeTtlMs: 60_000 }, cache, store, watch, log, metrics);
    const cg = c.cgroupId.toString();
    expect(cache.lookupCgroup(h.node, cg, Date.now())).toBeUndefined();
    await resolver.resolve(h.node, [cg, '999999999999']);
    const e = cache.lookupCgroup(h.node, cg, Date.now());
    expect(e?.identity).toMatchObject({ container_id: c.id, agent: 'racer', cgroup_id: cg });
    expect(published).toContain('sluice.containers.start');
    expect(counts.get('scan:found')).toBe(1);
    expect(counts.get('scan:not_found')).toBe(1);
    // Another unknown id right away: no second scan inside the interval.
    await resolver.resolve(h.node, ['888888888888']);
    expect(counts.get('scan:rate_limited')).toBe(1);
    // And the first unknown id is not even retried while negatively cached.
    await resolver.resolve(h.node, ['999999999999']);
    expect(counts.get('scan:rate_limited')).toBe(1);
    // The identity reached Redis, so another replica resolves it without Docker.
    const other = new LabelCache({ graceMs: 1000, startSlackMs: 500 });
    const remote = new MissResolver({ node: 'elsewhere', cgroupMount: h.mount, scanIntervalMs: 0, negativeTtlMs: 0 }, other, store, undefined, log, metrics);
    await waitForStore(cg);
    await remote.resolve(h.node, [cg]);
    expect(other.lookupCgroup(h.node, cg, Date.now())?.identity.agent).toBe('racer');
  });
});

async function waitForStore(cg: string): Promise<void> {
  for (let i = 0; i < 50 && !(await store.getByCgroup(h.node, cg)); i++) await new Promise((r) => setTimeout(r, 100));
}
