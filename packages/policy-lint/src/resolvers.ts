// Resolver sanity: host rules only ever match names the kernel saw answered by one of the policy's
// resolvers, so an enforce policy with host rules and no resolver denies every one of those hosts
// (today this shows only as a gap at apply), and a resolver the agent cannot send a query to
// (unspecified, multicast, broadcast, reserved, documentation ranges) makes the same silent failure.
import { cidrContains, ipBytes, mappedCidr, parseCidr, type Cidr } from '@sluice/contracts';
import type { Severity } from './finding.ts';

const ranges = (list: Array<[string, string]>) =>
  list.map(([cidr, why]) => ({ net: mappedCidr(parseCidr(cidr) as Cidr), why }));

/** Addresses a query can never be sent to and answered from. */
const UNREACHABLE = ranges([
  ['0.0.0.0/8', 'is "this network" (0.0.0.0/8), not a host that can answer'],
  ['224.0.0.0/4', 'is multicast'],
  ['255.255.255.255/32', 'is the broadcast address'],
  ['240.0.0.0/4', 'is reserved (240.0.0.0/4)'],
  ['192.0.2.0/24', 'is a documentation address (TEST-NET-1)'],
  ['198.51.100.0/24', 'is a documentation address (TEST-NET-2)'],
  ['203.0.113.0/24', 'is a documentation address (TEST-NET-3)'],
  ['::/128', 'is the unspecified address'],
  ['ff00::/8', 'is multicast'],
  ['2001:db8::/32', 'is a documentation address'],
]);

export interface ResolverFinding {
  severity: Severity;
  code: 'unreachable-resolver';
  message: string;
}

export function resolverFinding(addr: string): ResolverFinding | undefined {
  const b = ipBytes(addr);
  if (!b) return undefined;
  const at = { bytes: b.length === 4 ? [...new Array<number>(10).fill(0), 0xff, 0xff, ...b] : b, prefix: 128 };
  const hit = UNREACHABLE.find((r) => cidrContains(r.net, at));
  if (hit) return { severity: 'medium', code: 'unreachable-resolver', message: `resolver ${addr} ${hit.why}: no DNS answer can come from it, so host rules never match` };
  // x.y.z.0 / x.y.z.255 are hosts only in networks wider than /24: likely a network or broadcast
  // address typed for the server's own.
  if (b.length === 4 && (b[3] === 0 || b[3] === 255)) {
    return {
      severity: 'low',
      code: 'unreachable-resolver',
      message: `resolver ${addr} looks like a ${b[3] === 0 ? 'network' : 'broadcast'} address (it is a host only in a network wider than /24): is it the DNS server's own address?`,
    };
  }
  return undefined;
}

const LOOPBACK = ranges([
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
]);

export function isLoopbackAddress(addr: string): boolean {
  const b = ipBytes(addr);
  if (!b) return false;
  const at = { bytes: b.length === 4 ? [...new Array<number>(10).fill(0), 0xff, 0xff, ...b] : b, prefix: 128 };
  return LOOPBACK.some((r) => cidrContains(r.net, at));
}

export interface LearnedResolverFinding {
  severity: Severity;
  code: 'remote-resolver';
  message: string;
}

/**
 * For a resolver an agent's traffic proposes (learn), not one an operator wrote: listing a resolver
 * lets the agent send anything to its port 53, over UDP and TCP, and the agent chose this address.
 * A loopback one stays on the host or in the container (Docker DNATs 127.0.0.11 to its own DNS;
 * binding port 53 needs privileges the agent lacks in the host namespace and is refused in
 * enforce mode inside a container), so any further hop is a resolver the operator runs. Any other
 * address may be a server the agent's author runs: a direct DNS-tunnel exit, not a resolver.
 */
export function learnedResolverFinding(addr: string): LearnedResolverFinding | undefined {
  if (isLoopbackAddress(addr)) return undefined;
  return {
    severity: 'high',
    code: 'remote-resolver',
    message: `resolver ${addr} is not on loopback and was chosen by the agent: listing it opens UDP and TCP port 53 to it, a direct channel for data in DNS queries unless it is a resolver you run`,
  };
}
