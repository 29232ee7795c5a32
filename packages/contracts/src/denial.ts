// The denial feed (sluice.denials.<node>.<project>.<agent>): each DENIED attempt with why, and the
// smallest policy change that would allow it, or what else it needs when no rule can (a raw socket,
// a bind to port 53, a source route). An agent harness subscribes to its own agent's subject and
// can tell the agent why its connect got EPERM; `sluice why` prints the same advice.
import { z } from 'zod';
import { DnsEvent, EgressEvent } from './events.ts';

/** One allow rule, exactly as it would be written into `egress.allow`. */
export const SuggestedRule = z.union([
  z.strictObject({ host: z.string(), ports: z.array(z.number().int().min(1).max(65535)), proto: z.enum(['tcp', 'udp']) }),
  z.strictObject({ cidr: z.string(), ports: z.array(z.number().int().min(1).max(65535)), proto: z.enum(['tcp', 'udp']) }),
]);
export type SuggestedRule = z.infer<typeof SuggestedRule>;

export const SuggestedChange = z.object({
  /** The policy the change goes into; `created` when none selects the workload yet. */
  policy: z.string(),
  created: z.boolean(),
  /** Only for a created policy: the workload's own labels, so it selects nothing else. */
  match: z.object({ project: z.string().optional(), agent: z.string().optional() }).optional(),
  add: SuggestedRule.optional(),
  resolver: z.string().optional(),
  /** The attempt replayed through the policy service's compile/evaluate after the change: ALLOWED. */
  verified: z.boolean(),
  /** The change as a fragment of the policy document (YAML). */
  yaml: z.string(),
  note: z.string().optional(),
});
export type SuggestedChange = z.infer<typeof SuggestedChange>;

/** Codes of denials (or states) that no allow rule fixes; `message` says what does. */
export const NO_CHANGE_CODES = [
  'raw_socket',
  'dns_bind',
  'source_route_opt',
  'source_route',
  'bpf_syscall',
  'dns_forged',
  'unattributed',
  'not_tcp_udp',
  'no_destination',
  'allowed_now',
  'covered_but_denied',
  'policy_unavailable',
  'suppressed',
  'not_denied',
] as const;
export const NoChange = z.object({ code: z.enum(NO_CHANGE_CODES), message: z.string() });
export type NoChange = z.infer<typeof NoChange>;

export const DenialAdvice = z.object({
  /** The rule or policy the event names (rule_port's near miss, the governing policy), when known. */
  rule: z.string().optional(),
  /** Why it was denied, in one line. */
  why: z.string(),
  change: SuggestedChange.optional(),
  no_change: NoChange.optional(),
});
export type DenialAdvice = z.infer<typeof DenialAdvice>;

/** `sluice why`'s account of a DNS answer the kernel did not believe (names from it match no host rule). */
export const DnsRejectionNotice = z.object({
  dns_event: DnsEvent,
  advice: DenialAdvice,
  policy_revision: z.number().int().nonnegative().optional(),
});
export type DnsRejectionNotice = z.infer<typeof DnsRejectionNotice>;

export const DenialNotice = z.object({
  event: EgressEvent,
  advice: DenialAdvice,
  /** The policy revision the advice was computed against (absent: none applied or unreachable). */
  policy_revision: z.number().int().nonnegative().optional(),
});
export type DenialNotice = z.infer<typeof DenialNotice>;
