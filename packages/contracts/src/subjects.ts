// Every subject Sluice publishes or serves, built in one place so producers and consumers agree.
// Label values pass through the token encoding; node names and enum words are validated tokens.
import { decodeToken, encodeToken, isValidToken } from './token.ts';
import type { Verdict } from './verdict.ts';

export const SUBJECT_ROOT = 'sluice';

function literal(kind: string, value: string): string {
  if (!isValidToken(value)) throw new Error(`${kind} ${JSON.stringify(value)} is not a valid NATS subject token`);
  return value;
}

export const subjects = {
  raw: (node: string) => `sluice.raw.${encodeToken(node)}`,
  rawAll: 'sluice.raw.>',
  events: (project: string, agent: string, verdict: Verdict) =>
    `sluice.events.${encodeToken(project)}.${encodeToken(agent)}.${verdict}`,
  eventsAll: 'sluice.events.>',
  /** `sluice.events.<project>.<agent>.` — a hot path pre-renders it once and appends the verdict. */
  eventsPrefix: (project: string, agent: string) => `sluice.events.${encodeToken(project)}.${encodeToken(agent)}.`,
  /** Filter for one project (and optionally one agent); verdict optional. */
  eventsFilter: (f: { project?: string; agent?: string; verdict?: Verdict }) =>
    `sluice.events.${f.project === undefined ? '*' : encodeToken(f.project)}.${
      f.agent === undefined ? '*' : encodeToken(f.agent)
    }.${f.verdict ?? '*'}`,
  /** The denial feed: one DenialNotice (denial.ts) per DENIED attempt, core NATS (not stored). */
  denials: (node: string, project: string, agent: string) =>
    `sluice.denials.${encodeToken(node)}.${encodeToken(project)}.${encodeToken(agent)}`,
  denialsAll: 'sluice.denials.>',
  /** One agent's denials on every node: what an agent harness subscribes to. */
  denialsFor: (project: string, agent: string) => `sluice.denials.*.${encodeToken(project)}.${encodeToken(agent)}`,
  dns: (project: string, agent: string) => `sluice.dns.${encodeToken(project)}.${encodeToken(agent)}`,
  dnsAll: 'sluice.dns.>',
  containers: (event: string) => `sluice.containers.${literal('container event', event)}`,
  containersAll: 'sluice.containers.>',
  audit: (kind: string) => `sluice.audit.${literal('audit kind', kind)}`,
  auditAll: 'sluice.audit.>',
  drops: (node: string) => `sluice.drops.${encodeToken(node)}`,
  dropsAll: 'sluice.drops.>',
  health: (service: string) => `sluice.health.${literal('service', service)}`,
  api: (area: string, verb: string) => `sluice.api.${literal('api area', area)}.${literal('api verb', verb)}`,
  /** OTLP logs taken in on a node: `sluice.otlp.logs.<node>`. */
  otlpLogs: (node: string) => `sluice.otlp.logs.${encodeToken(node)}`,
  otlpLogsAll: 'sluice.otlp.logs.>',
  dlq: (stage: string) => `sluice.dlq.${literal('stage', stage)}`,
} as const;

export interface ParsedEventSubject {
  project: string;
  agent: string;
  verdict: string;
}

/** The project and agent tokens of an event subject as they stand (bounded tokens included). */
export function eventSubjectTokens(subject: string): ParsedEventSubject {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'events') {
    throw new Error(`not an event subject: ${subject.length > 300 ? subject.slice(0, 300) + '…' : subject}`);
  }
  return { project: parts[2]!, agent: parts[3]!, verdict: parts[4]! };
}

/**
 * Inverse of subjects.events for values short enough to travel exactly. Throws a TokenError for
 * a bounded token (a long label): route on eventSubjectTokens, read the value from the payload.
 */
export function parseEventSubject(subject: string): ParsedEventSubject {
  const t = eventSubjectTokens(subject);
  return { project: decodeToken(t.project), agent: decodeToken(t.agent), verdict: t.verdict };
}
