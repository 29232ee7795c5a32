// A learn session: which workloads it watches and where its state lives in Redis. Every key of one
// session shares a hash tag ({sid}) so the whole session sits on one Redis Cluster slot and one Lua
// call can update it atomically.
import { encodeToken, SessionSelector, type LearnSession } from '@sluice/contracts';

/** The selector a session watches (its schema is the learn API's, in contracts). */
export { SessionSelector };

/** A session as the learn API shows it. */
export type SessionInfo = LearnSession;

/** Stable id: token-encoded labels never contain '.' or '*', so '*' can mean "every agent". */
export function sessionId(s: SessionSelector): string {
  return `${encodeToken(s.project)}.${s.agent === undefined ? '*' : encodeToken(s.agent)}`;
}

/** Sessions an event from (project, agent) belongs to: the agent's own and the project-wide one. */
export function sessionIdsFor(project: string, agent: string): string[] {
  return sessionIdsForTokens(encodeToken(project), encodeToken(agent));
}

/** The same from an event subject's tokens (bounded ones included), without decoding them. */
export function sessionIdsForTokens(projectToken: string, agentToken: string): string[] {
  return [`${projectToken}.${agentToken}`, `${projectToken}.*`];
}

export interface SessionKeys {
  meta: string;
  /** destination key → attempts, by class */
  learned: string;
  allowed: string;
  /** destination key → first/last seen (ms) */
  first: string;
  last: string;
  /** `destination key \x1f agent` */
  agents: string;
  /** address key → attempts (any class): CIDR rules are judged on addresses */
  addresses: string;
  /** event id → time first applied (ms): the redelivery dedupe window */
  seen: string;
  /** address → DNS flows to it on port 53 that got an answer (who may be proposed as a resolver) */
  resolvers: string;
}

export function sessionKeys(prefix: string, sid: string): SessionKeys {
  const k = (name: string) => `${prefix}{${sid}}:${name}`;
  return {
    meta: k('meta'),
    learned: k('learned'),
    allowed: k('allowed'),
    first: k('first'),
    last: k('last'),
    agents: k('agents'),
    addresses: k('addresses'),
    seen: k('seen'),
    resolvers: k('resolvers'),
  };
}

/** The set of live session ids, so replicas can find sessions without scanning. */
export const sessionIndexKey = (prefix: string): string => `${prefix}sessions`;

export const AGENT_SEPARATOR = '\x1f';
