// The kernel's decision (bpf/decide.h) evaluated on the MapState model: bypass, then the cgroup's
// policy (or the default), loopback, resolvers on port 53, CIDR rules, host rules for the name the
// cgroup resolved the destination from (by hash, as the kernel looks them up), then learn mode. Used to
// prove that a plan never opens a window, and by `diff` to show what a change does.
import { canonicalName, cidrContains, ipBytes, mappedCidr, nameHash, parseCidr, type Cidr } from '@sluice/contracts';
import type { HostRuleEntry, MapState } from './model.ts';

/** SLUICE_HOST_DEPTH (bpf/map_types.h): the DNS cache keeps this many suffix hashes of a name. */
export const HOST_DEPTH = 8;

export type Outcome = 'ALLOWED' | 'DENIED' | 'BYPASSED' | 'AUDIT';
export type L4 = 'tcp' | 'udp';

export interface Probe {
  cgroup_id: string;
  dst: string;
  port: number;
  proto: L4;
  /** The name this cgroup resolved `dst` from through a trusted resolver (the kernel's DNS cache). */
  name?: string;
}

/** The kernel keys a resolved name offers host rules: its hash, its parent's, its proper suffixes'. */
export function nameKeys(name: string): Array<{ match: HostRuleEntry['match']; hash: string }> {
  const labels = canonicalName(name).split('.');
  const keys: Array<{ match: HostRuleEntry['match']; hash: string }> = [{ match: 'exact', hash: nameHash(labels.join('.')).toString() }];
  if (labels.length > 1) keys.push({ match: 'one', hash: nameHash(labels.slice(1).join('.')).toString() });
  for (let j = 1; j < labels.length && j <= HOST_DEPTH; j++) keys.push({ match: 'any', hash: nameHash(labels.slice(-j).join('.')).toString() });
  return keys;
}

const addrCache = new Map<string, number[]>();
function mapped(ip: string): number[] {
  const hit = addrCache.get(ip);
  if (hit) return hit;
  const b = ipBytes(ip);
  if (!b) throw new Error(`not an IP address: ${ip}`);
  const m = b.length === 4 ? [...new Array<number>(10).fill(0), 0xff, 0xff, ...b] : b;
  if (addrCache.size > 4096) addrCache.clear();
  addrCache.set(ip, m);
  return m;
}

function isLoopback(a: number[]): boolean {
  const isMapped = a.slice(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  if (isMapped) return a[12] === 127 || a.slice(12).every((x) => x === 0);
  return a.slice(0, 15).every((x) => x === 0) && (a[15] === 1 || a[15] === 0);
}

const cidrCache = new Map<string, { bytes: number[]; prefix: number }>();
function cidrOf(text: string) {
  let c = cidrCache.get(text);
  if (!c) {
    const parsed = parseCidr(text);
    if (typeof parsed === 'string') throw new Error(parsed);
    cidrCache.set(text, (c = mappedCidr(parsed as Cidr)));
  }
  return c;
}

export function evaluate(s: MapState, p: Probe, nowBootNs = 0n): Outcome {
  const bypass = s.bypass.get(p.cgroup_id);
  if (bypass !== undefined && nowBootNs < bypass) return 'BYPASSED';
  const entry = s.cgroups.get(p.cgroup_id) ?? s.default;
  const dst = mapped(p.dst);
  const allowed = matches(s, entry.policy_id, dst, p.port, p.proto, p.name);
  if (allowed) return 'ALLOWED';
  return entry.mode === 'learn' ? 'AUDIT' : 'DENIED';
}

function matches(s: MapState, policyId: number, dst: number[], port: number, proto: L4, name?: string): boolean {
  if (s.policies.get(policyId)?.loopback && isLoopback(dst)) return true;
  const w = s.written.get(policyId);
  if (!w) return false;
  if (port === 53) {
    for (const addr of w.resolvers.keys()) if (mapped(addr).every((b, i) => b === dst[i])) return true;
  }
  const at = { bytes: dst, prefix: 128 };
  const inRange = (r: { proto: string; ports: readonly { from: number; to: number }[] }) =>
    (r.proto === 'any' || r.proto === proto) && r.ports.some((range) => port >= range.from && port <= range.to);
  if (w.rules.some((r) => cidrContains(cidrOf(r.cidr), at) && inRange(r))) return true;
  if (name === undefined || w.hosts.length === 0) return false;
  const keys = new Set(nameKeys(name).map((k) => `${k.match}:${k.hash}`));
  return w.hosts.some((h) => keys.has(`${h.match}:${h.hash}`) && inRange(h));
}
