// What of an event adviseDenial reads, so a caller can reuse one advice for every event that
// agrees on it: a denial storm is the same attempt over and over (one workload, one destination),
// and each advice costs a policy compile, a replay and a YAML render. Everything else an event
// carries (id, time, pid, bytes, …) never changes the advice; advice-key.test.ts varies each of
// those fields and checks it, so a new field adviseDenial starts reading must be added here.
import type { EgressEvent } from '@sluice/contracts';

/** The event fields adviseDenial (without options) reads. */
export const ADVICE_FIELDS = [
  'kind',
  'verdict',
  'audit',
  'reason',
  'rule_id',
  'policy_id',
  'cgroup_id',
  'project',
  'agent',
  'l4_proto',
  'dst_ip',
  'dst_port',
  'dst_host',
  'sock_type',
  'sock_protocol',
  'bpf_cmd',
  'suppressed_count',
] as const satisfies ReadonlyArray<keyof EgressEvent>;

/** Equal keys ⇒ equal adviseDenial(cur, e) for the same `cur` (and no options). */
export function adviceKey(e: EgressEvent): string {
  // An array keeps absent (null) and '' apart and needs no escaping of separators.
  return JSON.stringify(ADVICE_FIELDS.map((f) => e[f] ?? null));
}

/**
 * Whether `a` and `b` agree on every field the advice reads (then adviceKey(a) === adviceKey(b)):
 * a storm repeats one attempt, and comparing with the last event costs less than building its key.
 */
export function sameAdviceFields(a: EgressEvent, b: EgressEvent): boolean {
  for (const f of ADVICE_FIELDS) if (a[f] !== b[f]) return false;
  return true;
}
