// Codes of the policy lint findings (@sluice/policy-lint) that an operator may acknowledge in the
// document itself (`ack: [broad-wildcard]` on a rule, `ack: [no-resolver]` on a policy). They are
// listed here, not in the lint package, so the schema can refuse a misspelt ack: an ack that
// silences nothing because of a typo would hide the very finding it was written for.
import { z } from 'zod';

/** Findings about one allow rule; acknowledged on that rule. */
export const RULE_LINT_CODES = ['broad-wildcard', 'open-cidr', 'all-ports', 'duplicate-rule', 'shadowed-rule'] as const;
/** Findings about a policy as a whole (its resolvers); acknowledged on the policy. */
export const POLICY_LINT_CODES = ['no-resolver', 'unreachable-resolver'] as const;
export type RuleLintCode = (typeof RULE_LINT_CODES)[number];
export type PolicyLintCode = (typeof POLICY_LINT_CODES)[number];

const ackList = <T extends readonly [string, ...string[]]>(codes: T, where: string) =>
  z
    .array(z.enum(codes, { message: `not a finding that can be acknowledged on ${where} (one of: ${codes.join(', ')})` }))
    .min(1, 'ack must name at least one finding code (or leave it out)')
    .optional();

export const RuleAck = ackList(RULE_LINT_CODES, 'a rule');
export const PolicyAck = ackList(POLICY_LINT_CODES, 'a policy');
