// What a policy *means* to the kernel, independent of how its rules are spelled: per CIDR prefix
// present in the LPM trie, the (proto, port) intervals a lookup at that prefix allows (the helper's
// closure), plus resolvers and the loopback flag. `sluice-bpf dump rules` shows closure entries,
// not the rules that were written, so actual and desired are compared by this signature. Host
// rules likewise: per kernel key (match kind, base hash) the (proto, port) intervals its merged
// entry allows — `dump host_rules` shows hashes, never the pattern text.
import { cidrContains, mappedCidr, parseCidr, type Cidr } from '@sluice/contracts';
import type { CidrRuleEntry, HostRuleEntry, PolicyContent } from './model.ts';

type Interval = [number, number];

function union(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function mappedOf(text: string) {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(`bad CIDR in map state: ${c}`);
  return mappedCidr(c as Cidr);
}

export function rulesSignature(rules: readonly CidrRuleEntry[]): string {
  const byPrefix = new Map<string, { m: { bytes: number[]; prefix: number }; rules: CidrRuleEntry[] }>();
  for (const r of rules) {
    const m = mappedOf(r.cidr);
    const key = `${m.bytes.join('.')}/${m.prefix}`;
    byPrefix.set(key, { m, rules: [] });
  }
  const parts: string[] = [];
  for (const [key, entry] of [...byPrefix].sort(([a], [b]) => a.localeCompare(b))) {
    const containing = rules.filter((r) => cidrContains(mappedOf(r.cidr), entry.m));
    const of = (proto: 'tcp' | 'udp') =>
      union(containing.filter((r) => r.proto === 'any' || r.proto === proto).flatMap((r) => r.ports.map((p): Interval => [p.from, p.to])))
        .map(([a, b]) => `${a}-${b}`)
        .join(',');
    parts.push(`${key} tcp:${of('tcp')} udp:${of('udp')}`);
  }
  return parts.join(' | ');
}

type Ranged = { ports: readonly { from: number; to: number }[]; proto: 'tcp' | 'udp' | 'any' };

function portsOf(rules: readonly Ranged[], proto: 'tcp' | 'udp'): string {
  return union(rules.filter((r) => r.proto === 'any' || r.proto === proto).flatMap((r) => r.ports.map((p): Interval => [p.from, p.to])))
    .map(([a, b]) => `${a}-${b}`)
    .join(',');
}

export function hostsSignature(hosts: readonly HostRuleEntry[]): string {
  const byKey = new Map<string, HostRuleEntry[]>();
  for (const h of hosts) {
    const key = `${h.match}:${h.hash}`;
    byKey.set(key, [...(byKey.get(key) ?? []), h]);
  }
  return [...byKey]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, rs]) => `${key} tcp:${portsOf(rs, 'tcp')} udp:${portsOf(rs, 'udp')}`)
    .join(' | ');
}

export function policySignature(p: {
  loopback: boolean;
  rules: readonly CidrRuleEntry[];
  resolvers: ReadonlyMap<string, number>;
  hosts: readonly HostRuleEntry[];
}): string {
  const resolvers = [...p.resolvers.keys()].map((a) => mappedOf(a.includes(':') ? `${a}/128` : `${a}/32`).bytes.join('.')).sort();
  return `loopback:${p.loopback} resolvers:${resolvers.join(',')} rules:${rulesSignature(p.rules)} hosts:${hostsSignature(p.hosts)}`;
}

export type { PolicyContent };
