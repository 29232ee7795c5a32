// Variables specific to the learner; the shared ones (NATS_URL, LOG_LEVEL, METRICS_PORT, NODE_NAME, …)
// come from @sluice/runtime's commonEnv.
import { ApiPrefix, STREAMS, subjects } from '@sluice/contracts';
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_LIMITS } from './store.ts';

export const DEFAULT_METRICS_PORT = 9467;

const int = (min: number) => z.coerce.number().int().min(min);

export const env = {
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** Every learner key starts with this, so several deployments (or test files) can share a Redis. */
  LEARNER_KEY_PREFIX: z.string().min(1).default('sluice:learn:'),
  LEARNER_STREAM: z.string().min(1).default(STREAMS.events.name),
  /** Shared by every replica: JetStream hands each message to one of them. */
  LEARNER_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a durable consumer name ([A-Za-z0-9_-])').default('sluice-learner'),
  LEARNER_FILTER: z.string().min(1).default(subjects.eventsAll),
  LEARNER_PULL_BATCH: int(1).default(64),
  LEARNER_ACK_WAIT_MS: int(1000).default(30_000),
  LEARNER_RETRY_DELAY_MS: int(0).default(1000),
  /** How stale the local list of live sessions may be before a miss reloads it. */
  LEARNER_SESSION_MAX_AGE_MS: int(0).default(250),
  LEARNER_MAX_DESTINATIONS: int(1).default(DEFAULT_LIMITS.maxDestinations),
  LEARNER_MAX_AGENT_ENTRIES: int(1).default(DEFAULT_LIMITS.maxAgentEntries),
  LEARNER_MAX_ADDRESSES: int(1).default(DEFAULT_LIMITS.maxAddresses),
  LEARNER_MAX_SEEN: int(1).default(DEFAULT_LIMITS.maxSeen),
  LEARNER_DEDUPE_TTL_MS: int(1000).default(DEFAULT_LIMITS.dedupeTtlMs),
  LEARNER_SESSION_TTL_S: int(60).default(DEFAULT_LIMITS.sessionTtlS),
  LEARNER_POLICY_TIMEOUT_MS: int(100).default(10_000),
  /**
   * Comma-separated non-loopback resolvers you run (a LAN or corporate DNS server): proposed as a
   * policy's resolver when they answered a session's DNS. Any other non-loopback resolver is only
   * suggested (an agent can run its own "resolver" as a DNS-tunnel exit); loopback ones need no entry.
   */
  LEARNER_TRUSTED_RESOLVERS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const list = s.split(',').map((x) => x.trim()).filter(Boolean);
      for (const ip of list) if (!isIP(ip)) ctx.addIssue({ code: 'custom', message: `"${ip}" is not an IP address` });
      return list;
    }),
  /** The denial feed (sluice.denials.<node>.<project>.<agent>): on, or `off` for a replica that only learns. */
  LEARNER_DENIALS: z.enum(['on', 'off']).default('on'),
  /** The feed's own durable consumer, shared by every replica: each denial is announced once. */
  LEARNER_DENIALS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a durable consumer name ([A-Za-z0-9_-])').default('sluice-learner-denials'),
  LEARNER_DENIALS_FILTER: z.string().min(1).default(subjects.eventsFilter({ verdict: 'DENIED' })),
  /** How old the policy the feed advises against may get; an applied policy is re-read at once anyway. */
  LEARNER_DENIALS_POLICY_MAX_AGE_MS: int(0).default(30_000),
  /** Subject prefix of the policy API (`<prefix>.get`, `<prefix>.apply`); unset: sluice.api.policy. */
  LEARNER_POLICY_API: ApiPrefix.optional(),
};
