// The policy document: what operators write (YAML), validated here before anything is stored or
// compiled, so nothing reaches the kernel until the whole document is known good (python firewall
// PR: validate before mutate). Refinements over the shape in DESIGN.md, and why:
//  - every object is strict: a misspelt key (`port:` for `ports:`) silently meaning "no
//    constraint" is how allowlists end up wider than intended;
//  - `ports` is required and non-empty: an omitted port list must not mean "every port";
//    use "1-65535" to say it on purpose;
//  - `proto` defaults to tcp, not any: UDP egress (DNS tunnelling, QUIC) is the usual exfiltration
//    path, so it is opened only when written down;
//  - a rule has exactly one destination (`host` or `cidr`), so its rule id names one thing;
//  - `**.example.com` matches names strictly below example.com, never the apex (write both);
//    wildcards need a base of at least two labels (`*.com` would open a whole TLD);
//  - CIDRs must have their host bits clear and IPv4-mapped IPv6 is refused: the kernel gives mapped
//    addresses exactly the IPv4 decision, so a v4 rule is the one place to say it;
//  - selectors: an empty `match` is an error (it would silently match every container); two
//    policies with identical selectors are an error; otherwise the more specific selector wins
//    (project+agent, then agent, then project) so precedence never depends on document order;
//  - `loopback` (default true) allows 127/8, ::1, 0.0.0.0 and ::: inside a container's own network
//    namespace that cannot leave the container; set it false for workloads in the host namespace
//    (`sluice run`), where loopback reaches host services such as NATS;
//  - the kernel's per-entry limit (16 port ranges for one prefix, counting every rule whose CIDR
//    contains it) is checked here, so the helper never rejects a document that validated; so are
//    its host-rule limits (a `**.` base has at most 8 labels: the DNS cache keeps 8 suffix hashes;
//    rules naming the same pattern share one entry of at most 16 port ranges);
//  - `flows` (optional, document level: the kernel setting is node-wide) sets the TCP active
//    timeout and the UDP idle window of flow records; durations need a unit ("500ms", "10s", "5m").
//  - `ack` (optional, on a rule or a policy) acknowledges lint findings on purpose (policy-ack.ts);
//    it changes nothing the kernel sees.
//  - `default.mode` is what cgroups under the managed scope that match no policy get: enforce means
//    deny all (fail closed), learn means allow-and-flag (only when written down).
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { PolicyAck, RuleAck } from './policy-ack.ts';

export const POLICY_VERSION = 1;
export const POLICY_MODES = ['enforce', 'learn'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];
export const PROTOS = ['tcp', 'udp', 'any'] as const;
export type Proto = (typeof PROTOS)[number];

/** Rule ids are (policy id << RULE_BITS) | (index + 1): a rule id in an event names its policy. */
export const RULE_BITS = 12;
export const MAX_RULES_PER_POLICY = (1 << RULE_BITS) - 1;
export const MAX_POLICIES = 4095;
/** SLUICE_MAX_RANGES in bpf/map_types.h: port ranges one LPM entry can carry. */
export const MAX_RANGES_PER_ENTRY = 16;
/** SLUICE_HOST_DEPTH in bpf/map_types.h: labels a `**.` base may have. */
export const MAX_ANY_BASE_LABELS = 8;

// ---- ports -------------------------------------------------------------------------------------

export interface PortRange {
  from: number;
  to: number;
}

/** Parse one `ports:` item (number, "N" or "a-b"); returns a reason string when it is not valid. */
export function parsePortItem(item: number | string): PortRange | string {
  const port = (v: number): string | undefined =>
    Number.isInteger(v) && v >= 1 && v <= 65535 ? undefined : `port ${v} is out of range 1-65535`;
  if (typeof item === 'number') return port(item) ?? { from: item, to: item };
  const m = /^\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?$/.exec(item);
  if (!m) return `"${item}" is not a port or a range "a-b"`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  const bad = port(from) ?? port(to);
  if (bad) return bad;
  if (from > to) return `range "${item}" is reversed (${from} > ${to})`;
  return { from, to };
}

// ---- addresses ---------------------------------------------------------------------------------

export interface Cidr {
  family: 4 | 6;
  /** Network address, 4 or 16 bytes, host bits clear. */
  bytes: number[];
  prefix: number;
  /** Canonical text, e.g. 10.20.0.0/16 or 2001:db8::/32. */
  text: string;
}

export function ipBytes(ip: string): number[] | undefined {
  if (isIPv4(ip)) return ip.split('.').map(Number);
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4tail) {
    tail = v4tail[1]!.split('.').map(Number);
    text = text.slice(0, -v4tail[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

export function formatIp(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const isMappedV4 = (b: number[]) => b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** Parse "addr/len"; returns a reason string when it is not a valid, canonical network. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return `"${text}" is not a CIDR (address/prefix-length)`;
  const bytes = ipBytes(m[1]!);
  if (!bytes) return `"${m[1]}" is not an IPv4 or IPv6 address`;
  const family = bytes.length === 4 ? 4 : 6;
  const prefix = Number(m[2]);
  const maxLen = bytes.length * 8;
  if (prefix > maxLen) return `prefix /${prefix} is longer than ${maxLen} bits for IPv${family}`;
  if (isMappedV4(bytes)) return `"${text}" is IPv4-mapped IPv6: write the IPv4 CIDR (mapped addresses get the IPv4 decision)`;
  const net = bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  const canonical = `${formatIp(net)}/${prefix}`;
  if (net.some((b, i) => b !== bytes[i])) return `"${text}" has host bits set (did you mean ${canonical}?)`;
  return { family, bytes: net, prefix, text: canonical };
}

// ---- host patterns -----------------------------------------------------------------------------

export type HostKind = 'exact' | 'one' | 'any';
export interface HostPattern {
  kind: HostKind;
  /** Lower-case name without the wildcard label, no trailing dot. */
  base: string;
  text: string;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

export function parseHostPattern(input: string): HostPattern | string {
  let text = input.trim().toLowerCase();
  if (text.endsWith('.')) text = text.slice(0, -1);
  let kind: HostKind = 'exact';
  let base = text;
  if (text.startsWith('**.')) [kind, base] = ['any', text.slice(3)];
  else if (text.startsWith('*.')) [kind, base] = ['one', text.slice(2)];
  if (base.includes('*')) return `"${input}": a wildcard may only be the whole first label ("*." or "**.")`;
  if (isIPv4(base) || isIPv6(base)) return `"${input}" is an address: use cidr: ${base}/${isIPv4(base) ? 32 : 128}`;
  if (base.length === 0 || base.length > 253) return `"${input}" is not a host name (1-253 characters)`;
  const labels = base.split('.');
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) return `"${input}": label "${bad}" is not a valid DNS label`;
  if (kind !== 'exact' && labels.length < 2) return `"${input}": a wildcard needs a base of at least two labels`;
  if (kind === 'any' && labels.length > MAX_ANY_BASE_LABELS) {
    return `"${input}": a "**." base has at most ${MAX_ANY_BASE_LABELS} labels (the kernel keeps that many suffixes of a name), this one has ${labels.length}`;
  }
  return { kind, base, text: kind === 'exact' ? base : `${kind === 'any' ? '**' : '*'}.${base}` };
}

/** Does `name` match the pattern? Used by tests and the learner; the kernel matches by hash. */
export function hostMatches(p: HostPattern, name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (p.kind === 'exact') return n === p.base;
  if (!n.endsWith(`.${p.base}`)) return false;
  const extra = n.slice(0, -p.base.length - 1).split('.').length;
  return p.kind === 'any' || extra === 1;
}

// ---- schema ------------------------------------------------------------------------------------

const fromParser =
  <T>(parse: (v: string) => T | string) =>
  (v: string, ctx: z.RefinementCtx): T => {
    const r = parse(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  };

export const PortItem = z.union([z.number(), z.string()]).transform((v, ctx): PortRange => {
  const r = parsePortItem(v);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

const label = z.string().min(1, 'must not be empty');

export const Selector = z
  .strictObject({ project: label.optional(), agent: label.optional() })
  .refine((s) => s.project !== undefined || s.agent !== undefined, {
    message: 'empty selector: name a project and/or an agent (an empty match would select every container)',
  });
export type Selector = z.infer<typeof Selector>;

const ports = z.array(PortItem).min(1, 'ports must list at least one port or range ("1-65535" for all)');
const proto = z.enum(PROTOS).default('tcp');

export const HostRule = z.strictObject({
  host: z.string().transform(fromParser(parseHostPattern)),
  ports,
  proto,
  ack: RuleAck,
});
export const CidrRule = z.strictObject({
  cidr: z.string().transform(fromParser(parseCidr)),
  ports,
  proto,
  ack: RuleAck,
});

/** Pick the branch by key so errors talk about the rule that was meant, not a union mismatch. */
export const AllowRule = z.unknown().transform((v, ctx) => {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(o, k);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: 'a rule must be a mapping with host: or cidr:' });
    return z.NEVER;
  }
  if (has('host') === has('cidr')) {
    ctx.addIssue({ code: 'custom', message: 'a rule needs exactly one of host: or cidr:' });
    return z.NEVER;
  }
  const schema = has('host') ? HostRule : CidrRule;
  const r = schema.safeParse(v);
  if (!r.success) {
    // Forward the branch's issues unchanged (code included) so unknown keys stay unknown keys.
    for (const issue of r.error.issues) ctx.addIssue(issue as unknown as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return r.data;
});
export type HostRule = z.infer<typeof HostRule>;
export type CidrRule = z.infer<typeof CidrRule>;
export type AllowRule = HostRule | CidrRule;

const Resolver = z.string().transform((v, ctx) => {
  const b = ipBytes(v.trim());
  if (!b) {
    ctx.addIssue({ code: 'custom', message: `resolver "${v}" is not an IPv4 or IPv6 address` });
    return z.NEVER;
  }
  return formatIp(b);
});

export const PolicyName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'policy names are 1-63 of [a-z0-9_-], starting with a letter or digit');

export const Policy = z
  .strictObject({
    name: PolicyName,
    match: Selector,
    mode: z.enum(POLICY_MODES).default('enforce'),
    loopback: z.boolean().default(true),
    resolvers: z.array(Resolver).default([]),
    egress: z.strictObject({ allow: z.array(AllowRule).default([]) }).default({ allow: [] }),
    ack: PolicyAck,
  })
  .superRefine((p, ctx) => {
    const ids = p.egress.allow.length + p.resolvers.length;
    if (ids > MAX_RULES_PER_POLICY) {
      ctx.addIssue({ code: 'custom', path: ['egress', 'allow'], message: `${ids} rules and resolvers, over the ${MAX_RULES_PER_POLICY} a policy can hold` });
    }
    for (const [i, over, pattern] of hostRangeOverflows(p.egress.allow)) {
      ctx.addIssue({
        code: 'custom',
        path: ['egress', 'allow', i, 'ports'],
        message: `${over} port ranges name "${pattern}" (rules with the same host pattern share one kernel entry), over the kernel's ${MAX_RANGES_PER_ENTRY}: merge ports`,
      });
    }
    for (const [i, over] of cidrRangeOverflows(p.egress.allow)) {
      ctx.addIssue({
        code: 'custom',
        path: ['egress', 'allow', i, 'ports'],
        message: `${over} port ranges apply to this CIDR (with the rules whose CIDR contains it), over the kernel's ${MAX_RANGES_PER_ENTRY}: merge ports or split the rule`,
      });
    }
  });
export type Policy = z.infer<typeof Policy>;

/** u32 milliseconds: what `sluice-bpf apply timeouts` accepts. */
export const MAX_TIMEOUT_MS = 0xffffffff;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "500ms" | "10s" | "5m" | "1h" → milliseconds; a reason string when it is not one. */
export function parseDurationMs(text: string): number | string {
  const m = /^\s*(\d{1,10})\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) return `"${text}" is not a duration (a whole number with a unit: 500ms, 10s, 5m, 1h)`;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < 1 || ms > MAX_TIMEOUT_MS) return `"${text}" is out of range (1ms to ${MAX_TIMEOUT_MS}ms)`;
  return ms;
}

const Duration = z.string({ message: 'a duration string with a unit (500ms, 10s, 5m, 1h)' }).transform(fromParser(parseDurationMs));

/** Flow record timing; the kernel setting is node-wide, so it lives at document level. */
export const FlowSettings = z.strictObject({
  /** TCP flows open longer than this get an interim record (default 5m, as IPFIX). */
  active_timeout: Duration.optional(),
  /** UDP aggregates are flushed after this long without traffic (default 10s). */
  udp_idle: Duration.optional(),
});
export type FlowSettings = z.infer<typeof FlowSettings>;

export const PolicyDocument = z
  .strictObject({
    version: z.literal(POLICY_VERSION, { message: `version must be ${POLICY_VERSION}` }),
    default: z.strictObject({ mode: z.enum(POLICY_MODES) }).default({ mode: 'enforce' }),
    flows: FlowSettings.optional(),
    policies: z.array(Policy).max(MAX_POLICIES).default([]),
  })
  .superRefine((doc, ctx) => {
    const names = new Map<string, number>();
    const selectors = new Map<string, number>();
    doc.policies.forEach((p, i) => {
      const first = names.get(p.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['policies', i, 'name'], message: `duplicate policy name "${p.name}" (first at policies[${first}])` });
      } else names.set(p.name, i);
      const key = selectorKey(p.match);
      const same = selectors.get(key);
      if (same !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['policies', i, 'match'], message: `same selector as policies[${same}]: which one applies would be ambiguous` });
      } else selectors.set(key, i);
    });
  });
export type PolicyDocument = z.infer<typeof PolicyDocument>;

/** 128-bit form of a CIDR as the kernel keys it: IPv4 as ::ffff:a.b.c.d with the prefix + 96. */
export function mappedCidr(c: Cidr): { bytes: number[]; prefix: number } {
  return c.family === 6 ? { bytes: c.bytes, prefix: c.prefix } : { bytes: [...new Array<number>(10).fill(0), 0xff, 0xff, ...c.bytes], prefix: c.prefix + 96 };
}

/** Does CIDR a (mapped form) contain address or prefix b (mapped form)? */
export function cidrContains(a: { bytes: number[]; prefix: number }, b: { bytes: number[]; prefix: number }): boolean {
  if (a.prefix > b.prefix) return false;
  for (let bit = 0; bit < a.prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((a.bytes[bit >> 3]! & mask) !== (b.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Rules whose LPM entry would need more than MAX_RANGES_PER_ENTRY ranges: [index, count]. */
export function cidrRangeOverflows(allow: readonly AllowRule[]): Array<[number, number]> {
  const cidrs = allow.flatMap((r, i) => ('cidr' in r ? [{ i, m: mappedCidr(r.cidr), n: r.ports.length }] : []));
  const out: Array<[number, number]> = [];
  for (const r of cidrs) {
    const total = cidrs.filter((o) => cidrContains(o.m, r.m)).reduce((sum, o) => sum + o.n, 0);
    if (total > MAX_RANGES_PER_ENTRY) out.push([r.i, total]);
  }
  return out;
}

/** Rules whose host pattern's shared kernel entry would need over MAX_RANGES_PER_ENTRY ranges. */
export function hostRangeOverflows(allow: readonly AllowRule[]): Array<[number, number, string]> {
  const total = new Map<string, number>();
  for (const r of allow) if ('host' in r) total.set(r.host.text, (total.get(r.host.text) ?? 0) + r.ports.length);
  const out: Array<[number, number, string]> = [];
  allow.forEach((r, i) => {
    if (!('host' in r)) return;
    const n = total.get(r.host.text)!;
    if (n > MAX_RANGES_PER_ENTRY) out.push([i, n, r.host.text]);
  });
  return out;
}

export function selectorKey(s: Selector): string {
  return JSON.stringify([s.project ?? null, s.agent ?? null]);
}

/** Higher wins: project+agent (3) over agent (2) over project (1). */
export function selectorSpecificity(s: Selector): number {
  return (s.agent !== undefined ? 2 : 0) + (s.project !== undefined ? 1 : 0);
}

export function selectorMatches(s: Selector, labels: { project?: string | undefined; agent?: string | undefined }): boolean {
  return (s.project === undefined || s.project === labels.project) && (s.agent === undefined || s.agent === labels.agent);
}

/** The policy a workload gets, or undefined for the default. Unambiguous by the validation above. */
export function selectPolicy<P extends { match: Selector }>(
  policies: readonly P[],
  labels: { project?: string | undefined; agent?: string | undefined },
): P | undefined {
  let best: P | undefined;
  for (const p of policies) {
    if (!selectorMatches(p.match, labels)) continue;
    if (!best || selectorSpecificity(p.match) > selectorSpecificity(best.match)) best = p;
  }
  return best;
}
