// The enforcement canary's policy and what it must observe. Pure.
//
// Loopback is not special to the kernel programs unless a policy says so (bpf/decide.h: the
// policy's LOOPBACK flag allows 127/8, ::1, 0.0.0.0 and ::; without the flag a loopback destination
// walks the same CIDR rules as any other). So the canary policy sets `loopback: false` and allows
// exactly one TCP port on 127.0.0.1 by a CIDR rule: the allowed connect is ALLOWED/rule and the
// denied one (same address, the other listener's port) DENIED/rule_port, both decided by the
// same LPM lookup every agent's connect goes through, not by a loopback shortcut.
//
// A second probe cgroup has no entry at all, so it runs under the node's default (config[0]): it
// connects to the allowed listener, which the default must deny (enforce) or let through flagged
// (learn), as the current revision says. That catches a default flipped behind Sluice's back.
import { Policy, type CanaryExpect, type PolicyMode } from '@sluice/contracts';
import type { MapState } from './model.ts';

/** Outside PolicyName's alphabet (`:`), so it can never be a document policy's name in the id table. */
export const CANARY_POLICY_NAME = ':canary';
export const CANARY_ADDR = '127.0.0.1';

export function canaryPolicy(allowedPort: number): Policy {
  const p = Policy.parse({
    name: 'canary',
    match: { agent: 'canary' }, // required by the schema, never used: the policy is pinned to the canary cgroup
    mode: 'enforce',
    loopback: false,
    egress: { allow: [{ cidr: `${CANARY_ADDR}/32`, ports: [allowedPort], proto: 'tcp' }] },
  });
  return { ...p, name: CANARY_POLICY_NAME };
}

export interface CanaryTarget {
  dst: string;
  port: number;
  expect: CanaryExpect;
}

export interface CanaryPlan {
  /** The cgroup under the canary policy. */
  canary: CanaryTarget[];
  /** The cgroup without an entry (the default). */
  default: CanaryTarget[];
}

export function canaryPlan(ports: { allowed: number; denied: number }, defaultMode: PolicyMode): CanaryPlan {
  return {
    canary: [
      { dst: CANARY_ADDR, port: ports.allowed, expect: 'allowed' },
      { dst: CANARY_ADDR, port: ports.denied, expect: 'denied' },
    ],
    default: [{ dst: CANARY_ADDR, port: ports.allowed, expect: defaultMode === 'learn' ? 'allowed' : 'denied' }],
  };
}

/**
 * The allowed port the canary cgroup's policy in the maps names (a previous run's), so a restart
 * can listen there again: same content, same policy id, no map churn on restart.
 */
export function previousCanaryPort(actual: MapState | undefined, cgroupId: string): number | undefined {
  const entry = actual?.cgroups.get(cgroupId);
  const p = entry && actual?.policies.get(entry.policy_id);
  if (!p || p.loopback || p.rules.length !== 1 || p.resolvers.size || p.hosts.length) return undefined;
  const r = p.rules[0]!;
  const port = r.ports[0];
  return r.cidr === `${CANARY_ADDR}/32` && r.ports.length === 1 && port && port.from === port.to ? port.from : undefined;
}
