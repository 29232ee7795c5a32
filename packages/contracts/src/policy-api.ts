// The policy management API: NATS request/reply on sluice.api.policy.<verb>, served by the policy
// service, called by the CLI and the learner. Every request is validated against these schemas and
// every failure comes back as a structured reply (never a timeout or a dropped message).
//
// Who may call what is enforced by NATS permissions (infra/nats/accounts.conf): only the operator
// identity may publish to the mutating verbs. `actor` is the human/tool name recorded in audit
// events; it is a label for people, the NATS user is the authority.
import { z } from 'zod';
import { defineApi, RpcErrorBody, RpcReply } from './rpc.ts';

export const POLICY_API_AREA = 'policy';
export const POLICY_READ_VERBS = ['validate', 'diff', 'get', 'history', 'bypass_list'] as const;
export const POLICY_MUTATING_VERBS = ['apply', 'rollback', 'bypass', 'bypass_cancel'] as const;
export type PolicyVerb = (typeof POLICY_READ_VERBS)[number] | (typeof POLICY_MUTATING_VERBS)[number];

const actor = z.string().min(1).max(200);
const reason = z.string().min(1, 'a reason is required').max(2000);
/** YAML as text (the server parses it, so positions in errors refer to the operator's file). */
const documentText = z.string().max(16 * 1024 * 1024);

export const PolicyRequests = {
  validate: z.strictObject({ yaml: documentText, file: z.string().optional() }),
  diff: z.strictObject({ yaml: documentText, file: z.string().optional() }),
  apply: z.strictObject({
    yaml: documentText,
    file: z.string().optional(),
    actor,
    reason: reason.optional(),
    /** Optimistic concurrency: fail with `conflict` unless this is the current revision (0: none yet). */
    expect_revision: z.number().int().nonnegative().optional(),
    /** `learner`: accepting a learner proposal (audited as learner_accept, with the proposal id). */
    origin: z.enum(['operator', 'learner']).optional(),
    proposal_id: z.string().min(1).optional(),
  }),
  get: z.strictObject({ revision: z.number().int().positive().optional() }),
  history: z.strictObject({ limit: z.number().int().positive().max(1000).optional() }),
  rollback: z.strictObject({ revision: z.number().int().positive(), actor, reason: reason.optional() }),
  bypass: z
    .strictObject({
      agent: z.string().min(1),
      project: z.string().min(1).optional(),
      duration_s: z.number().int().positive().max(7 * 24 * 3600),
      actor,
      reason,
    }),
  bypass_list: z.strictObject({}),
  bypass_cancel: z.strictObject({ id: z.string().min(1), actor, reason: reason.optional() }),
} as const satisfies Record<PolicyVerb, z.ZodType>;

/** The codes the policy service answers with (the envelope itself is rpc.ts's). */
export const ApiErrorCode = z.enum(['bad_request', 'invalid_policy', 'conflict', 'not_found', 'unavailable', 'internal']);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** The shared envelope under the names this API has always used. */
export const ApiError = RpcErrorBody;
export type ApiError = RpcErrorBody;
export const ApiReply = RpcReply;
export type ApiReply = RpcReply;

/** The summary of what a document changes, in rules and in map entries. */
export const PolicyChange = z.object({
  before_revision: z.number().int().nonnegative(),
  policies: z.object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    changed: z.array(z.string()),
    unchanged: z.array(z.string()),
  }),
  rules: z.array(z.object({ policy: z.string(), change: z.enum(['+', '-']), rule: z.string() })),
  default_mode: z.object({ before: z.string(), after: z.string() }).optional(),
  /** Flow record timing (document `flows`, node-wide), when it changes. */
  flows: z.object({ before: z.string(), after: z.string() }).optional(),
  /** The map operations, in the order `sluice-bpf apply` would run them on this node now. */
  map_ops: z.array(z.string()),
  gaps: z.array(z.string()),
});
export type PolicyChange = z.infer<typeof PolicyChange>;

export const RevisionMeta = z.object({
  revision: z.number().int().positive(),
  time: z.iso.datetime(),
  actor: z.string(),
  reason: z.string().optional(),
  file: z.string().optional(),
  sha256: z.string(),
  rollback_of: z.number().int().positive().optional(),
});
export type RevisionMeta = z.infer<typeof RevisionMeta>;

export const BypassRecord = z.object({
  id: z.string(),
  agent: z.string(),
  project: z.string().optional(),
  /** Wall-clock expiry; the kernel entry carries the same instant on CLOCK_BOOTTIME. */
  expires_at: z.iso.datetime(),
  actor: z.string(),
  reason: z.string(),
  created_at: z.iso.datetime(),
});
export type BypassRecord = z.infer<typeof BypassRecord>;

/** Policy ids a revision assigned (stable across revisions, so unchanged policies keep their map entries). */
export const PolicyIds = z.object({
  next_policy_id: z.number().int().positive(),
  policies: z.record(z.string(), z.object({ id: z.number().int().positive(), hash: z.string() })),
});
export type PolicyIds = z.infer<typeof PolicyIds>;

const Applied = z.object({ revision: z.number().int().positive(), change: PolicyChange });

export const PolicyResponses = {
  validate: z.object({ valid: z.literal(true), policies: z.number().int().nonnegative() }),
  diff: PolicyChange,
  apply: Applied,
  get: RevisionMeta.extend({ yaml: z.string(), ids: PolicyIds }),
  history: z.array(RevisionMeta),
  rollback: Applied,
  bypass: BypassRecord,
  bypass_list: z.array(BypassRecord.extend({ expired: z.boolean() })),
  bypass_cancel: z.object({ cancelled: z.string() }),
} as const satisfies Record<PolicyVerb, z.ZodType>;

/** sluice.api.policy.<verb>, answered by the policy service (queue group: one answer per request). */
export const POLICY_API = defineApi(POLICY_API_AREA, 'policy service', PolicyRequests, PolicyResponses);

/** Audit kinds this API emits on sluice.audit.<kind>. */
export const POLICY_AUDIT_KINDS = {
  apply: 'policy_apply',
  rollback: 'policy_rollback',
  bypass: 'policy_bypass',
  bypassCancel: 'policy_bypass_cancel',
  learnerAccept: 'learner_accept',
} as const;

/** The human rendering used by the CLI: a unified-diff-like listing. */
export function renderPolicyChange(c: PolicyChange): string[] {
  const out: string[] = [`# against revision ${c.before_revision || '(none)'}`];
  const p = c.policies;
  for (const [label, names] of [['added', p.added], ['removed', p.removed], ['changed', p.changed], ['unchanged', p.unchanged]] as const) {
    if (names.length) out.push(`# policies ${label}: ${names.join(', ')}`);
  }
  if (c.default_mode) out.push(`# default mode: ${c.default_mode.before} -> ${c.default_mode.after}`);
  if (c.flows) out.push(`# flows: ${c.flows.before} -> ${c.flows.after}`);
  for (const r of c.rules) out.push(`${r.change} ${r.policy}: ${r.rule}`);
  if (c.map_ops.length) out.push(`# map operations (${c.map_ops.length}), in order:`, ...c.map_ops.map((o) => `  ${o}`));
  else out.push('# no map change');
  for (const g of c.gaps) out.push(`# gap: ${g}`);
  return out;
}
