// What one event contributes to a learn session, decided before anything touches Redis, so the
// store only counts and never interprets. Pure.
import type { EgressEvent } from '@sluice/contracts';

/**
 * learn: an attempt the current policy does not allow (audit bit in learn mode, DENIED in
 * enforce mode) — a candidate for the allowlist.
 * allowed: an attempt an existing rule let through — evidence that the rule is still used, so it
 * is not proposed for pruning.
 * resolver: DNS to a loopback resolver (Docker's 127.0.0.11, a host stub) that the loopback
 * allowance let through and that answered: no rule is needed for the query, but enforce trusts DNS
 * answers only from the policy's resolvers, so it is evidence for `resolvers:`.
 */
export type ObservationClass = 'learn' | 'allowed' | 'resolver';

export interface Observation {
  cls: ObservationClass;
  /** `h|name` when DNS attribution knew the name, `i|address` otherwise. */
  target: string;
  /** The address, always (CIDR rules are judged on it even when a name was seen). */
  ip: string;
  port: number;
  proto: string;
  agent: string;
  time_ms: number;
  id: string;
  /** DNS (port 53) that got bytes back: the destination answered, so it may be proposed as a resolver. */
  answered: boolean;
}

export type SkipReason = 'bypassed' | 'not_rule' | 'no_destination' | 'suppressed' | 'bad_time' | 'not_egress';

/** Refusals that are not egress attempts: no allow rule could (or should) make them pass. */
const NOT_EGRESS = new Set(['bind', 'sockopt', 'packet', 'escape', 'bpf']);

/** Normalise a DNS name the way policy host patterns are compared: lower case, no trailing dot. */
export function normaliseHost(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export function destinationKey(o: Pick<Observation, 'target' | 'port' | 'proto'>): string {
  // proto and port first so the key splits unambiguously even when a name contains '|' (it may not
  // in DNS, but dst_host comes from packets we do not control).
  return `${o.proto}|${o.port}|${o.target}`;
}

export function parseDestinationKey(key: string): { proto: string; port: number; host?: string; ip?: string } {
  const m = /^([^|]*)\|(\d+)\|([hi])\|(.*)$/s.exec(key);
  if (!m) throw new Error(`learner: malformed destination key ${JSON.stringify(key)}`);
  const base = { proto: m[1]!, port: Number(m[2]) };
  return m[3] === 'h' ? { ...base, host: m[4]! } : { ...base, ip: m[4]! };
}

export function addressKey(o: Pick<Observation, 'ip' | 'port' | 'proto'>): string {
  return `${o.proto}|${o.port}|${o.ip}`;
}

export function parseAddressKey(key: string): { proto: string; port: number; ip: string } {
  const m = /^([^|]*)\|(\d+)\|(.+)$/s.exec(key);
  if (!m) throw new Error(`learner: malformed address key ${JSON.stringify(key)}`);
  return { proto: m[1]!, port: Number(m[2]), ip: m[3]! };
}

/** Classify one event; a string is the reason it teaches nothing. */
export function observe(e: EgressEvent): Observation | SkipReason {
  if (e.kind === 'suppressed') return 'suppressed';
  if (NOT_EGRESS.has(e.kind)) return 'not_egress';
  if (e.verdict === 'BYPASSED') return 'bypassed';
  const answered = isDnsPort(e) && (e.bytes_in ?? 0) > 0;
  let cls: ObservationClass;
  if (e.audit || e.verdict === 'DENIED') cls = 'learn';
  else if (e.reason === 'rule') cls = 'allowed';
  else if (e.reason === 'loopback' && answered) cls = 'resolver';
  // Allowed by loopback, resolver or default-learn: no allow rule was used and none is needed.
  else return 'not_rule';
  if (e.dst_port === 0 || e.dst_ip === '') return 'no_destination';
  const time_ms = Date.parse(e.time);
  if (!Number.isFinite(time_ms)) return 'bad_time';
  const host = e.dst_host ? normaliseHost(e.dst_host) : '';
  return {
    cls,
    target: host ? `h|${host}` : `i|${e.dst_ip}`,
    ip: e.dst_ip,
    port: e.dst_port,
    proto: e.l4_proto.toLowerCase(),
    agent: e.agent ?? '',
    time_ms,
    id: e.id,
    answered,
  };
}

/** DNS as policies mean it: port 53 over UDP or TCP (the kernel's resolver check is the same). */
function isDnsPort(e: EgressEvent): boolean {
  const proto = e.l4_proto.toLowerCase();
  return e.dst_port === 53 && (proto === 'udp' || proto === 'tcp');
}
