// learner: aggregates learn-mode traffic and proposes allowlist diffs.
import { jetstream } from '@nats-io/jetstream';
import { AuditEvent, LEARN_CHANGED_SUBJECT, POLICY_AUDIT_KINDS, STREAMS, subjects } from '@sluice/contracts';
import { ensureConsumer, jetstreamManager, runService } from '@sluice/runtime';
import { LearnApi, serveLearnApi } from './api.ts';
import { DEFAULT_METRICS_PORT, env } from './config.ts';
import { BatchHandler, startConsuming } from './consume.ts';
import { CurrentPolicyCache } from './current-policy.ts';
import { denialFeedMetrics, startDenialFeed } from './denial-feed.ts';
import { learnerMetrics } from './metrics.ts';
import { createRedis } from './redis.ts';
import { natsPolicyClient } from './policy-client.ts';
import { SessionCache } from './session-cache.ts';
import { LearnStore } from './store.ts';

await runService({
  name: 'learner',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ config, log, metrics, readiness, nc, ensure }) => {
    // Redis being away degrades the learner (not ready, messages nak'ed and redelivered later); it
    // never stops it, at start or later: ioredis keeps reconnecting.
    readiness.set('redis', false, 'connecting');
    const redis = createRedis(config.REDIS_URL);
    redis.on('error', (err: Error) => {
      readiness.set('redis', false, err.message);
      log.warn({ err: err.message }, 'redis error');
    });
    redis.on('close', () => readiness.set('redis', false, 'connection closed'));
    redis.on('ready', () => {
      readiness.set('redis', true, config.REDIS_URL);
      log.info('redis ready');
    });

    const store = new LearnStore(redis, config.LEARNER_KEY_PREFIX, {
      maxDestinations: config.LEARNER_MAX_DESTINATIONS,
      maxAgentEntries: config.LEARNER_MAX_AGENT_ENTRIES,
      maxAddresses: config.LEARNER_MAX_ADDRESSES,
      maxSeen: config.LEARNER_MAX_SEEN,
      dedupeTtlMs: config.LEARNER_DEDUPE_TTL_MS,
      sessionTtlS: config.LEARNER_SESSION_TTL_S,
    });
    const m = learnerMetrics(metrics);
    const cache = new SessionCache(() => store.sessionIds(), config.LEARNER_SESSION_MAX_AGE_MS);
    await cache.refresh().catch((err: unknown) => log.warn({ err }, 'could not load learn sessions yet; will retry on demand'));

    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    if (config.LEARNER_STREAM === STREAMS.events.name) await ensure.stream(STREAMS.events);
    await ensure.stream(STREAMS.control);
    await ensureConsumer(
      jsm,
      { stream: config.LEARNER_STREAM, durable: config.LEARNER_DURABLE, filterSubject: config.LEARNER_FILTER, ackWaitMs: config.LEARNER_ACK_WAIT_MS },
      log,
    );

    const policyClient = natsPolicyClient(nc, config.LEARNER_POLICY_TIMEOUT_MS, config.LEARNER_POLICY_API);
    const changedSub = nc.subscribe(LEARN_CHANGED_SUBJECT, { callback: () => void cache.refresh().catch((err: unknown) => log.warn({ err }, 'session reload failed')) });
    const api = new LearnApi({
      store,
      trustedResolvers: config.LEARNER_TRUSTED_RESOLVERS,
      policy: policyClient,
      audit: async (e) => {
        const event = AuditEvent.parse(e);
        await js.publish(subjects.audit(event.kind), JSON.stringify(event), { msgID: event.id });
      },
      changed: () => {
        cache.invalidate();
        nc.publish(LEARN_CHANGED_SUBJECT);
      },
    });
    const apiSub = serveLearnApi(nc, api, log);
    const stopConsuming = await startConsuming(
      js,
      new BatchHandler(store, cache, m),
      { stream: config.LEARNER_STREAM, durable: config.LEARNER_DURABLE, batch: config.LEARNER_PULL_BATCH, retryDelayMs: config.LEARNER_RETRY_DELAY_MS },
      log,
      (ok, detail) => readiness.set('learner', ok, detail),
    );
    readiness.set('learner', true, 'consuming');

    // The denial feed: advice against the current policy, re-read as soon as one is applied.
    let stopFeed = async (): Promise<void> => {};
    const feedSubs: Array<{ drain(): Promise<void> }> = [];
    if (config.LEARNER_DENIALS === 'on') {
      await ensureConsumer(
        jsm,
        { stream: config.LEARNER_STREAM, durable: config.LEARNER_DENIALS_DURABLE, filterSubject: config.LEARNER_DENIALS_FILTER, ackWaitMs: config.LEARNER_ACK_WAIT_MS },
        log,
      );
      const policy = new CurrentPolicyCache(policyClient, config.LEARNER_DENIALS_POLICY_MAX_AGE_MS);
      for (const kind of [POLICY_AUDIT_KINDS.apply, POLICY_AUDIT_KINDS.rollback, POLICY_AUDIT_KINDS.learnerAccept]) {
        feedSubs.push(nc.subscribe(subjects.audit(kind), { callback: () => policy.invalidate() }));
      }
      stopFeed = await startDenialFeed(
        { nc, js, policy, metrics: denialFeedMetrics(metrics), log },
        { stream: config.LEARNER_STREAM, durable: config.LEARNER_DENIALS_DURABLE, batch: config.LEARNER_PULL_BATCH },
      );
    }
    return {
      stop: [
        { name: 'denial feed', run: stopFeed },
        { name: 'policy announcements', run: async () => void (await Promise.all(feedSubs.map((s) => s.drain()))) },
        { name: 'learn api', run: () => apiSub.drain() },
        { name: 'consumer', run: stopConsuming },
        { name: 'session announcements', run: () => changedSub.drain() },
        { name: 'redis', run: async () => void (await redis.quit()) },
      ],
    };
  },
});
