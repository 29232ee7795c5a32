// learner: the hot path (NDJSON batch → parse → classify → one atomic Lua apply per session) on the
// real Redis, the fast path for traffic no session watches, and proposal rendering cost.
//   learner_denial_feed_cpu_us_per_event  the denial feed's notices for a denial storm (one workload
//                          retrying a few destinations, as the e2e bench's producer does): CPU µs per
//                          event to parse, advise (memoised per attempt) and serialise; pure, no I/O
//   learner_denial_feed_unmemoised_cpu_us_per_event  the same with a fresh advice per event (a policy
//                          compile, replay and YAML render each): what the memo saves
import { randomBytes } from 'node:crypto';
import { subjects, type EgressEvent } from '@sluice/contracts';
import { attempt, testServer } from '@sluice/testkit';
import { AdviceMemo } from '../services/learner/src/advice-memo.ts';
import { BatchHandler } from '../services/learner/src/consume.ts';
import { denialNotices } from '../services/learner/src/denial-notices.ts';
import type { LearnerMetrics } from '../services/learner/src/metrics.ts';
import { propose, renderProposal } from '../services/learner/src/proposal.ts';
import { createRedis } from '../services/learner/src/redis.ts';
import { SessionCache } from '../services/learner/src/session-cache.ts';
import { LearnStore, type AggregatedDestination } from '../services/learner/src/store.ts';

/** CPU µs per event of the denial feed's pure part over a storm, memoised and not. */
export function denialFeedCost(): Record<string, number> {
  const storm = (n: number, offset: number) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify(
        attempt('storm', 'bench', 'a0', { ip: `198.51.100.${i % 4}`, port: 9, proto: 'udp' }, { id: `bench:storm:${offset + i}`, kind: 'sendmsg', verdict: 'DENIED', audit: false, reason: 'default', policy_id: 0, node: 'bench', cgroup_id: '1', pid: 1, comm: 'probe' }),
      ),
    ).join('\n');
  const view = { ok: true as const, current: undefined };
  const cost = (batches: string[], memo: () => AdviceMemo): number => {
    let events = 0;
    const c0 = process.cpuUsage();
    for (const text of batches) for (const n of denialNotices(text, view, memo()).notices) events += n.payload.length > 0 ? 1 : 0;
    const c = process.cpuUsage(c0);
    return Math.round(((c.user + c.system) / events) * 10) / 10;
  };
  const shared = new AdviceMemo();
  const memoised = Array.from({ length: 100 }, (_, b) => storm(200, b * 200));
  // Every event a distinct attempt: a memo never hits, so each one is advised afresh.
  const fresh = Array.from({ length: 10 }, (_, b) => storm(200, b * 200).replace(/"dst_port":9/g, () => `"dst_port":${1 + Math.floor(Math.random() * 60000)}`));
  cost(memoised.slice(0, 10), () => shared); // warm
  return {
    learner_denial_feed_cpu_us_per_event: cost(memoised, () => shared),
    learner_denial_feed_unmemoised_cpu_us_per_event: cost(fresh, () => new AdviceMemo()),
  };
}

const noMetrics: LearnerMetrics = { handled: () => {}, dropped: () => {}, skipped: () => {}, applied: () => {} };

function event(i: number, run: string): EgressEvent {
  const dst = { host: `h${i % 200}.bench.test`, ip: `10.1.${(i >> 8) & 255}.${i & 255}`, port: 443 + (i % 4) };
  return attempt(run, 'bench', `a${i % 8}`, dst, { id: `bench:${run}:${i}`, node: 'bench', cgroup_id: '1', pid: 1, comm: 'node' });
}

export async function run(): Promise<Record<string, number>> {
  const redis = createRedis(testServer('REDIS_URL'));
  const prefix = `sluice:bench:${randomBytes(4).toString('hex')}:`;
  try {
    const store = new LearnStore(redis, prefix);
    await store.start({ project: 'bench' }, new Date(Date.now() - 1000));
    const handler = new BatchHandler(store, new SessionCache(() => store.sessionIds(), 1000), noMetrics);
    const BATCH = 100;
    const BATCHES = 300;
    const runId = randomBytes(3).toString('hex');
    const texts = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => JSON.stringify(event(b * BATCH + i, runId))).join('\n'),
    );
    let t = performance.now();
    for (const text of texts) await handler.handle(subjects.events('bench', 'a0', 'ALLOWED'), text);
    const applySeconds = (performance.now() - t) / 1000;
    // Redelivery of everything: all duplicates, still one Lua call per batch.
    t = performance.now();
    for (const text of texts) await handler.handle(subjects.events('bench', 'a0', 'ALLOWED'), text);
    const dupSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (const text of texts) await handler.handle(subjects.events('other', 'a0', 'ALLOWED'), text);
    const skipSeconds = (performance.now() - t) / 1000;

    const dests: AggregatedDestination[] = Array.from({ length: 1000 }, (_, i) => ({
      host: `h${i}.d${i % 50}.bench.test`,
      port: 443 + (i % 3),
      proto: 'tcp',
      learned: 1 + (i % 5),
      allowed: 0,
      first_ms: i,
      last_ms: i,
      agents: [`a${i % 8}`],
    }));
    t = performance.now();
    const yaml = renderProposal(propose(undefined, { project: 'bench' }, dests, []));
    const renderMs = performance.now() - t;

    const feed = denialFeedCost();
    return {
      ...feed,
      learner_apply_events_per_s: Math.round((BATCH * BATCHES) / applySeconds),
      learner_redelivered_events_per_s: Math.round((BATCH * BATCHES) / dupSeconds),
      learner_unwatched_batches_per_s: Math.round(BATCHES / skipSeconds),
      learner_proposal_1k_destinations_ms: Math.round(renderMs * 10) / 10,
      learner_proposal_1k_destinations_bytes: Buffer.byteLength(yaml),
    };
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}
