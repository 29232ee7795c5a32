// One denied destination → the narrowest thing a policy would need to allow it: nothing (a rule
// already covers it), a resolver (IP-only port 53), or one rule for exactly that host or address,
// port and protocol. The learner's proposals (many destinations, aggregated) and the denial feed /
// `sluice why` (one attempt) both go through here, so they never disagree about what "allow this" means. Pure.
import {
  cidrContains,
  hostMatches,
  ipBytes,
  mappedCidr,
  parseCidr,
  selectPolicy,
  type AllowRule,
  type Policy,
  type PolicyDocument,
  type PortRange,
} from '@sluice/contracts';

export type RuleProto = 'tcp' | 'udp';

export interface Destination {
  /** Normalised DNS name the attempt was attributed to, when the kernel knew one. */
  host?: string | undefined;
  ip?: string | undefined;
  port: number;
  proto: string;
}

export type RuleFor =
  | { kind: 'covered' }
  | { kind: 'resolver'; ip: string }
  | { kind: 'rule'; host: string; proto: RuleProto; port: number }
  | { kind: 'rule'; cidr: string; proto: RuleProto; port: number }
  | { kind: 'skip'; reason: string };

/** Who a rule is for: a learn session's selector, or one workload's labels. */
export interface WorkloadSelector {
  project: string;
  agent?: string | undefined;
}

export const isRuleProto = (p: string): p is RuleProto => p === 'tcp' || p === 'udp';
const protoMatches = (rule: AllowRule, proto: string) => rule.proto === 'any' || rule.proto === proto;
const portIn = (ranges: readonly PortRange[], port: number) => ranges.some((r) => port >= r.from && port <= r.to);

/** Compare IP text numerically, IPv4 before IPv6, so address lists sort the way people read them. */
export function compareIp(a: string, b: string): number {
  const x = ipBytes(a) ?? [];
  const y = ipBytes(b) ?? [];
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The narrowest CIDR for one address: /32 or /128 (IPv4-mapped IPv6 becomes its IPv4 /32). */
export function narrowestCidr(ip: string): string | undefined {
  const b = ipBytes(ip);
  if (!b) return undefined;
  const mapped = b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  const bytes = mapped ? b.slice(12) : b;
  const text = bytes.length === 4 ? `${bytes.join('.')}/32` : `${ip}/128`;
  const parsed = parseCidr(text);
  return typeof parsed === 'string' ? undefined : parsed.text;
}

export function hostCovered(policy: Policy | undefined, host: string, port: number, proto: string): boolean {
  return !!policy?.egress.allow.some((r) => 'host' in r && hostMatches(r.host, host) && portIn(r.ports, port) && protoMatches(r, proto));
}

export function ipCovered(policy: Policy | undefined, ip: string, port: number, proto: string): boolean {
  const b = ipBytes(ip);
  if (!b || !policy) return false;
  const addr = mappedCidr({ family: b.length === 4 ? 4 : 6, bytes: b, prefix: b.length * 8, text: ip });
  return policy.egress.allow.some((r) => 'cidr' in r && cidrContains(mappedCidr(r.cidr), addr) && portIn(r.ports, port) && protoMatches(r, proto));
}

/** The policy that governs the workloads: the same selector, else the one that wins. */
export function governingPolicy(doc: PolicyDocument | undefined, sel: WorkloadSelector): Policy | undefined {
  if (!doc) return undefined;
  const exact = doc.policies.find((p) => p.match.project === sel.project && p.match.agent === sel.agent);
  return exact ?? selectPolicy(doc.policies, { project: sel.project, agent: sel.agent });
}

/** A policy name derived from the selector, valid for PolicyName and not taken in `doc`. */
export function newPolicyName(doc: PolicyDocument | undefined, sel: { project?: string | undefined; agent?: string | undefined }, prefix = 'learned'): string {
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|-+$/g, '');
  const base = [prefix, sel.project === undefined ? '' : slug(sel.project), sel.agent === undefined ? '' : slug(sel.agent)].filter(Boolean).join('-').slice(0, 56);
  const taken = new Set(doc?.policies.map((p) => p.name) ?? []);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/**
 * What `policy` (undefined: none governs, the default applies) lacks to allow `d`. A name is
 * allowed by name (the kernel matches host rules for whatever address the name moves to); an
 * address without a name by its /32 or /128; port 53 to an address by listing it as a resolver,
 * never as an open UDP/53 rule (DESIGN: DNS only to listed resolvers).
 */
export function ruleFor(policy: Policy | undefined, d: Destination): RuleFor {
  if (!isRuleProto(d.proto)) return { kind: 'skip', reason: `protocol "${d.proto}" cannot be allowed by a policy rule (tcp or udp only)` };
  if (d.host !== undefined) {
    if (hostCovered(policy, d.host, d.port, d.proto)) return { kind: 'covered' };
    return { kind: 'rule', host: d.host, proto: d.proto, port: d.port };
  }
  const cidr = narrowestCidr(d.ip ?? '');
  if (!cidr) return { kind: 'skip', reason: 'not an IPv4 or IPv6 address' };
  if (ipCovered(policy, d.ip!, d.port, d.proto)) return { kind: 'covered' };
  if (d.port === 53) {
    const canonical = cidr.split('/')[0]!;
    return policy?.resolvers.includes(canonical) ? { kind: 'covered' } : { kind: 'resolver', ip: canonical };
  }
  return { kind: 'rule', cidr, proto: d.proto, port: d.port };
}
