// The learner's API: sluice.api.learn.<verb>, answered by any learner replica (one queue group).
// The learner never changes policy itself: `prepare` returns the merged document, the operator's
// CLI applies it through the policy API and reports back with `accepted`, which the learner audits.
import { z } from 'zod';
import { defineApi } from './rpc.ts';

const label = z.string().min(1, 'must not be empty').max(256, 'is longer than 256 characters');
const actor = z.string().min(1).max(200);

/** The selector a session watches: one project, optionally one agent of it. */
export const SessionSelector = z.strictObject({ project: label, agent: label.optional() });
export type SessionSelector = z.infer<typeof SessionSelector>;

export const LearnSession = z.object({
  project: z.string(),
  agent: z.string().optional(),
  sid: z.string(),
  started_at: z.string(),
  events: z.number(),
  learned: z.number(),
  duplicates: z.number(),
  before_start: z.number(),
  overflow: z.number(),
  destinations: z.number(),
  /** Set once an operator applied this session's proposal. */
  accepted_revision: z.number().optional(),
  accepted_at: z.string().optional(),
});
export type LearnSession = z.infer<typeof LearnSession>;

export const LearnRequests = {
  start: SessionSelector.extend({ actor: actor.optional() }),
  status: z.strictObject({ project: label.optional(), agent: label.optional() }),
  diff: SessionSelector,
  /** The document an accept would apply (read-only: applying is the operator's act). */
  prepare: SessionSelector.extend({
    enforce: z.boolean().default(false),
    wildcards: z.array(z.string().min(1)).default([]),
    /** Suggested resolvers (answered the session, not loopback, not declared trusted) to list on purpose. */
    resolvers: z.array(z.string().min(1)).default([]),
  }),
  /** The operator applied a prepared document: audit it and remember it in the session. */
  accepted: SessionSelector.extend({
    actor,
    reason: z.string().min(1).max(2000).optional(),
    before_revision: z.number().int().nonnegative(),
    revision: z.number().int().positive(),
    policy: z.string().min(1),
    added: z.array(z.string()),
    enforce: z.boolean(),
    wildcards: z.array(z.string()).default([]),
    resolvers: z.array(z.string()).default([]),
  }),
  reset: SessionSelector.extend({ actor: actor.optional() }),
} as const;
export type LearnVerb = keyof typeof LearnRequests;

export const LearnResponses = {
  start: z.object({ created: z.boolean(), session: LearnSession }),
  status: z.object({ sessions: z.array(LearnSession) }),
  diff: z.object({
    session: LearnSession,
    policy_revision: z.number().int().nonnegative(),
    warning: z.string().optional(),
    yaml: z.string(),
    /** The learner's structured proposal (additions, suggestions, prune, skipped). */
    proposal: z.unknown(),
  }),
  prepare: z.object({
    base_revision: z.number().int().nonnegative(),
    policy: z.string(),
    changed: z.boolean(),
    added: z.array(z.string()),
    yaml: z.string().optional(),
    suggestions_declined: z.array(z.string()).optional(),
    resolvers_declined: z.array(z.string()).optional(),
    session: LearnSession,
  }),
  accepted: z.object({ recorded: z.boolean() }),
  reset: z.object({ reset: z.boolean() }),
} as const satisfies Record<LearnVerb, z.ZodType>;

export const LEARN_API = defineApi('learn', 'learner', LearnRequests, LearnResponses);

/** Core NATS announcement (no payload meaning) that sessions changed: every replica reloads. */
export const LEARN_CHANGED_SUBJECT = 'sluice.learn.changed';
