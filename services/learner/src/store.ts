// The learn-session state in Redis: sessions, their aggregates, and atomic updates (store.lua.ts).
// This is the only module that talks to Redis; callers get plain values back.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { addressKey, destinationKey, parseAddressKey, parseDestinationKey, type Observation } from './observation.ts';
import { AGENT_SEPARATOR, sessionId, sessionIndexKey, sessionKeys, type SessionInfo, type SessionSelector } from './session.ts';
import { APPLY_SCRIPT, START_SCRIPT } from './store.lua.ts';

export interface StoreLimits {
  /** Distinct (destination, port, proto) per session; further destinations are dropped, counted. */
  maxDestinations: number;
  /** (destination, agent) pairs per session. */
  maxAgentEntries: number;
  /** Distinct (address, port, proto) per session. */
  maxAddresses: number;
  /** Event ids remembered per session for redelivery dedupe, and for how long. */
  maxSeen: number;
  dedupeTtlMs: number;
  /** A session idle this long disappears with its data. */
  sessionTtlS: number;
}

export const DEFAULT_LIMITS: StoreLimits = {
  maxDestinations: 5000,
  maxAgentEntries: 20000,
  maxAddresses: 20000,
  maxSeen: 200_000,
  dedupeTtlMs: 3_600_000,
  sessionTtlS: 7 * 24 * 3600,
};

export interface ApplyResult {
  applied: number;
  learned: number;
  duplicates: number;
  before_start: number;
  overflow: number;
  /** The session was reset while the batch was in flight. */
  gone: boolean;
}

/** One aggregated destination, as the proposal reads it. */
export interface AggregatedDestination {
  host?: string;
  ip?: string;
  port: number;
  proto: string;
  learned: number;
  allowed: number;
  first_ms: number;
  last_ms: number;
  agents: string[];
}

export interface AggregatedAddress {
  ip: string;
  port: number;
  proto: string;
  count: number;
}

/** An address that answered the session's DNS (port 53, bytes back). */
export interface AnsweredResolver {
  ip: string;
  answered: number;
}

export interface SessionSnapshot {
  session: SessionInfo;
  destinations: AggregatedDestination[];
  addresses: AggregatedAddress[];
  resolvers: AnsweredResolver[];
}

export class SessionExistsError extends Error {
  override name = 'SessionExistsError';
}

/** EVALSHA with a fallback to EVAL when Redis does not have the script (restart, SCRIPT FLUSH). */
class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  async run(redis: Redis, numKeys: number, args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, numKeys, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return redis.eval(this.lua, numKeys, ...args);
    }
  }
}
const APPLY = new Script(APPLY_SCRIPT);

export class LearnStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: StoreLimits = DEFAULT_LIMITS,
  ) {}

  /** Idempotent: starting a running session returns it unchanged (created=false). */
  async start(sel: SessionSelector, now: Date = new Date()): Promise<{ created: boolean; session: SessionInfo }> {
    const sid = sessionId(sel);
    const keys = sessionKeys(this.prefix, sid);
    const created = (await this.redis.eval(
      START_SCRIPT,
      2,
      keys.meta,
      sessionIndexKey(this.prefix),
      sid,
      sel.project,
      sel.agent ?? '',
      String(now.getTime()),
      now.toISOString(),
      String(this.limits.sessionTtlS),
    )) as number;
    const session = await this.session(sid);
    if (!session) throw new Error(`learner: session ${sid} vanished right after start (expired at once?)`);
    return { created: created === 1, session };
  }

  async session(sid: string): Promise<SessionInfo | undefined> {
    const keys = sessionKeys(this.prefix, sid);
    const [meta, destinations] = await Promise.all([this.redis.hgetall(keys.meta), this.redis.hlen(keys.first)]);
    if (!meta.started_at || meta.project === undefined) return undefined;
    const n = (k: string) => Number(meta[k] ?? 0);
    return {
      sid,
      project: meta.project,
      ...(meta.agent ? { agent: meta.agent } : {}),
      started_at: meta.started_at,
      events: n('events'),
      learned: n('learned'),
      duplicates: n('duplicates'),
      before_start: n('before_start'),
      overflow: n('overflow'),
      destinations,
      ...(meta.accepted_revision ? { accepted_revision: Number(meta.accepted_revision), accepted_at: meta.accepted_at } : {}),
    };
  }

  /** Every live session; ids whose data expired are removed from the index on the way. */
  async sessions(): Promise<SessionInfo[]> {
    const ids = (await this.redis.smembers(sessionIndexKey(this.prefix))).sort();
    const out: SessionInfo[] = [];
    for (const sid of ids) {
      const s = await this.session(sid);
      if (s) out.push(s);
      else await this.redis.srem(sessionIndexKey(this.prefix), sid);
    }
    return out;
  }

  /** Live session ids only (the consumer's hot-path filter). */
  async sessionIds(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(sessionIndexKey(this.prefix)));
  }

  /** End the session and discard everything it learned. Returns false when there was none. */
  async reset(sel: SessionSelector): Promise<boolean> {
    const sid = sessionId(sel);
    const keys = sessionKeys(this.prefix, sid);
    const res = await this.redis
      .multi()
      .srem(sessionIndexKey(this.prefix), sid)
      .del(...Object.values(keys))
      .exec();
    const deleted = Number(res?.[1]?.[1] ?? 0);
    return deleted > 0;
  }

  /** Remember the last accepted revision in the session (false when the session is gone). */
  async markAccepted(sel: SessionSelector, revision: number, now: Date): Promise<boolean> {
    const keys = sessionKeys(this.prefix, sessionId(sel));
    // Only an existing session: HSET on a missing key would resurrect a reset session as a husk.
    const r = await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end redis.call('HSET', KEYS[1], 'accepted_revision', ARGV[1], 'accepted_at', ARGV[2]) return 1",
      1,
      keys.meta,
      String(revision),
      now.toISOString(),
    );
    return r === 1;
  }

  async apply(sid: string, observations: readonly Observation[], now: Date = new Date()): Promise<ApplyResult> {
    const keys = sessionKeys(this.prefix, sid);
    const args: string[] = [
      String(now.getTime()),
      String(this.limits.dedupeTtlMs),
      String(this.limits.maxSeen),
      String(this.limits.maxDestinations),
      String(this.limits.maxAgentEntries),
      String(this.limits.maxAddresses),
      String(this.limits.sessionTtlS),
    ];
    for (const o of observations) {
      args.push(o.id, o.cls, destinationKey(o), addressKey(o), o.agent, String(o.time_ms), o.answered ? '1' : '0', o.ip);
    }
    const r = (await APPLY.run(
      this.redis,
      9,
      [keys.meta, keys.learned, keys.allowed, keys.first, keys.last, keys.agents, keys.addresses, keys.seen, keys.resolvers, ...args],
    )) as number[];
    if (r[0] === -1) return { applied: 0, learned: 0, duplicates: 0, before_start: 0, overflow: 0, gone: true };
    return { applied: r[0]!, learned: r[1]!, duplicates: r[2]!, before_start: r[3]!, overflow: r[4]!, gone: false };
  }

  async snapshot(sel: SessionSelector): Promise<SessionSnapshot | undefined> {
    const sid = sessionId(sel);
    const keys = sessionKeys(this.prefix, sid);
    // One MULTI so every structure comes from the same instant (no batch half-visible).
    const res = await this.redis
      .multi()
      .hgetall(keys.meta)
      .hgetall(keys.learned)
      .hgetall(keys.allowed)
      .hgetall(keys.first)
      .hgetall(keys.last)
      .smembers(keys.agents)
      .hgetall(keys.addresses)
      .hgetall(keys.resolvers)
      .exec();
    if (!res) throw new Error('learner: Redis transaction for the snapshot was aborted');
    for (const [err] of res) if (err) throw err;
    const [meta, learned, allowed, first, last, agentPairs, addresses, resolvers] = res.map(([, v]) => v) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      string[],
      Record<string, string>,
      Record<string, string>,
    ];
    if (!meta.started_at) return undefined;
    const agents = new Map<string, string[]>();
    for (const pair of agentPairs) {
      const at = pair.lastIndexOf(AGENT_SEPARATOR);
      const dk = pair.slice(0, at);
      const list = agents.get(dk) ?? [];
      list.push(pair.slice(at + 1));
      agents.set(dk, list);
    }
    const destinations = Object.keys(first).map((dk): AggregatedDestination => {
      const d = parseDestinationKey(dk);
      return {
        ...d,
        learned: Number(learned[dk] ?? 0),
        allowed: Number(allowed[dk] ?? 0),
        first_ms: Number(first[dk]),
        last_ms: Number(last[dk] ?? first[dk]),
        agents: (agents.get(dk) ?? []).sort(),
      };
    });
    const n = (k: string) => Number(meta[k] ?? 0);
    return {
      session: {
        sid,
        project: meta.project ?? sel.project,
        ...(meta.agent ? { agent: meta.agent } : {}),
        started_at: meta.started_at,
        events: n('events'),
        learned: n('learned'),
        duplicates: n('duplicates'),
        before_start: n('before_start'),
        overflow: n('overflow'),
        destinations: destinations.length,
        ...(meta.accepted_revision ? { accepted_revision: Number(meta.accepted_revision), accepted_at: meta.accepted_at } : {}),
      },
      destinations,
      addresses: Object.entries(addresses).map(([ak, c]) => ({ ...parseAddressKey(ak), count: Number(c) })),
      resolvers: Object.entries(resolvers).map(([ip, c]) => ({ ip, answered: Number(c) })),
    };
  }
}
