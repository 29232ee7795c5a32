// sluice.api.learn.<verb>: start | status | diff | prepare | accepted | reset. Transport-free like the policy
// API: `handle` validates the request (zod) and always returns a reply object, so a bad request is
// an answer, never a crash or a timeout. serveApi wires it to NATS with one queue group across
// replicas; a change is also announced on LEARN_CHANGED so every replica's session cache reloads.
//
// The learner never changes policy itself: NATS permissions (infra/nats/accounts.conf) give it the
// policy API's read verbs only, so a compromised learner cannot widen the firewall. `prepare`
// returns the merged document; the operator's CLI applies it with expect_revision and reports back
// with `accepted`, which the learner audits (learn_accept) beside the policy service's policy_apply.
import { randomBytes } from 'node:crypto';
import { parsePolicy, type AuditEvent, type PolicyDocument } from '@sluice/contracts';
import type { Logger, NatsConnection } from '@sluice/runtime';
import type { Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { mergeProposal, MergeError } from './policy-merge.ts';
import { PolicyApiError, type CurrentPolicy, type PolicyClient } from './policy-client.ts';
import { propose, renderProposal } from './proposal.ts';
import { SessionSelector } from './session.ts';
import type { LearnStore } from './store.ts';

export const LEARN_API_PREFIX = 'sluice.api.learn.';
export const LEARN_API_QUEUE = 'sluice-learner-api';
/** Core NATS announcement (no payload meaning) that sessions changed. */
export const LEARN_CHANGED = 'sluice.learn.changed';

const actor = z.string().min(1).max(200);
export const LearnRequests = {
  start: SessionSelector.extend({ actor: actor.optional() }),
  status: z.strictObject({ project: z.string().min(1).optional(), agent: z.string().min(1).optional() }),
  diff: SessionSelector,
  /** The document an accept would apply (read-only: applying is the operator's act, see accept in the CLI). */
  prepare: SessionSelector.extend({
    enforce: z.boolean().default(false),
    wildcards: z.array(z.string().min(1)).default([]),
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
  }),
  reset: SessionSelector.extend({ actor: actor.optional() }),
} as const;
export type LearnVerb = keyof typeof LearnRequests;
type Req<V extends LearnVerb> = z.infer<(typeof LearnRequests)[V]>;

export type LearnReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; details?: unknown } };

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface LearnApiDeps {
  store: LearnStore;
  policy: PolicyClient;
  audit: (e: AuditEvent) => Promise<void>;
  changed: () => void;
  now?: () => Date;
}

const selectorOf = (r: { project: string; agent?: string | undefined }) => ({
  project: r.project,
  ...(r.agent !== undefined ? { agent: r.agent } : {}),
});

export class LearnApi {
  constructor(private readonly deps: LearnApiDeps) {}

  async handle(verb: string, payload: Uint8Array | string): Promise<LearnReply> {
    try {
      if (!Object.hasOwn(LearnRequests, verb)) {
        throw new Refused('bad_request', `unknown verb "${verb}" (one of ${Object.keys(LearnRequests).join(', ')})`);
      }
      let body: unknown;
      try {
        const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch (err) {
        throw new Refused('bad_request', `request body is not JSON: ${(err as Error).message}`);
      }
      const parsed = LearnRequests[verb as LearnVerb].safeParse(body);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`);
        throw new Refused('bad_request', `invalid ${verb} request: ${issues.join('; ')}`);
      }
      return { ok: true, result: await this.dispatch(verb as LearnVerb, parsed.data) };
    } catch (err) {
      if (err instanceof Refused) return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
      if (err instanceof PolicyApiError) return { ok: false, error: { code: `policy_${err.code}`, message: err.message, details: err.details } };
      if (err instanceof MergeError) return { ok: false, error: { code: 'invalid_policy', message: err.message } };
      return { ok: false, error: { code: 'internal', message: (err as Error).message ?? String(err) } };
    }
  }

  private dispatch(verb: LearnVerb, req: unknown): Promise<unknown> {
    switch (verb) {
      case 'start':
        return this.start(req as Req<'start'>);
      case 'status':
        return this.status(req as Req<'status'>);
      case 'diff':
        return this.diff(req as Req<'diff'>);
      case 'prepare':
        return this.prepare(req as Req<'prepare'>);
      case 'accepted':
        return this.accepted(req as Req<'accepted'>);
      case 'reset':
        return this.reset(req as Req<'reset'>);
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async start(req: Req<'start'>) {
    const r = await this.deps.store.start(selectorOf(req), this.now());
    if (r.created) {
      this.deps.changed();
      await this.audit('learn_start', req.actor ?? 'unknown', selectorOf(req), { session: r.session.sid });
    }
    return r;
  }

  private async status(req: Req<'status'>) {
    const all = await this.deps.store.sessions();
    return {
      sessions: all.filter((s) => (req.project === undefined || s.project === req.project) && (req.agent === undefined || s.agent === req.agent)),
    };
  }

  /** Current policy, or a degraded "no policy" view when the policy service is down (said so). */
  private async currentPolicy(strict: boolean): Promise<{ current?: CurrentPolicy; doc?: PolicyDocument; warning?: string }> {
    let current: CurrentPolicy | undefined;
    try {
      current = await this.deps.policy.current();
    } catch (err) {
      if (strict || !(err instanceof PolicyApiError) || err.code !== 'unavailable') throw err;
      return { warning: `${err.message}: the diff is against an empty policy` };
    }
    if (!current) return {};
    const parsed = parsePolicy(current.yaml, { file: `policy revision ${current.revision}` });
    if (!parsed.ok) throw new Refused('invalid_policy', `current policy revision ${current.revision} does not validate`, parsed.errors);
    return { current, doc: parsed.document };
  }

  private async computeDiff(sel: SessionSelector, strict: boolean) {
    const snap = await this.deps.store.snapshot(sel);
    if (!snap) throw new Refused('not_found', `no learn session for ${describe(sel)} (start one with: sluice learn start)`);
    const pol = await this.currentPolicy(strict);
    const proposal = propose(pol.doc, sel, snap.destinations, snap.addresses);
    return { snap, pol, proposal };
  }

  private async diff(req: Req<'diff'>) {
    const { snap, pol, proposal } = await this.computeDiff(selectorOf(req), false);
    return {
      session: snap.session,
      policy_revision: pol.current?.revision ?? 0,
      ...(pol.warning ? { warning: pol.warning } : {}),
      yaml: renderProposal(proposal),
      proposal,
    };
  }

  private async prepare(req: Req<'prepare'>) {
    const sel = selectorOf(req);
    const { snap, pol, proposal } = await this.computeDiff(sel, true);
    const base_revision = pol.current?.revision ?? 0;
    if (proposal.additions.length === 0 && proposal.resolvers.length === 0 && !req.enforce) {
      return { base_revision, policy: proposal.policy, changed: false, added: [], session: snap.session };
    }
    const merged = mergeProposal(pol.current?.yaml, proposal, { enforce: req.enforce, wildcards: req.wildcards });
    return {
      base_revision,
      policy: proposal.policy,
      changed: true,
      added: merged.added,
      yaml: merged.yaml,
      suggestions_declined: proposal.suggestions.map((s) => s.host).filter((h) => !req.wildcards.includes(h)),
      session: snap.session,
    };
  }

  private async accepted(req: Req<'accepted'>) {
    const sel = selectorOf(req);
    const recorded = await this.deps.store.markAccepted(sel, req.revision, this.now());
    await this.audit(
      'learn_accept',
      req.actor,
      sel,
      { policy: req.policy, added: req.added, enforce: req.enforce, wildcards: req.wildcards },
      req.reason,
      req.before_revision,
      req.revision,
    );
    return { recorded };
  }

  private async reset(req: Req<'reset'>) {
    const sel = selectorOf(req);
    const existed = await this.deps.store.reset(sel);
    this.deps.changed();
    if (existed) await this.audit('learn_reset', req.actor ?? 'unknown', sel, {});
    return { reset: existed };
  }

  private async audit(
    kind: string,
    who: string,
    sel: SessionSelector,
    detail: Record<string, unknown>,
    reason?: string,
    before?: number,
    after?: number,
  ): Promise<void> {
    const time = this.now().toISOString();
    await this.deps.audit({
      id: `${kind}-${time}-${randomBytes(4).toString('hex')}`,
      time,
      kind,
      actor: who,
      ...(reason ? { reason } : {}),
      ...(before !== undefined ? { before_revision: before } : {}),
      ...(after !== undefined ? { after_revision: after } : {}),
      subject: sel,
      detail,
    });
  }
}

function describe(sel: SessionSelector): string {
  return sel.agent === undefined ? `project ${JSON.stringify(sel.project)}` : `project ${JSON.stringify(sel.project)} agent ${JSON.stringify(sel.agent)}`;
}

export function serveLearnApi(nc: NatsConnection, api: LearnApi, log: Logger): Subscription {
  return nc.subscribe(`${LEARN_API_PREFIX}*`, {
    queue: LEARN_API_QUEUE,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'learn api subscription failed');
        return;
      }
      const verb = msg.subject.slice(LEARN_API_PREFIX.length);
      void api.handle(verb, msg.data).then((reply) => {
        if (!reply.ok) log[reply.error.code === 'internal' ? 'error' : 'info']({ verb, error: reply.error.message }, 'learn api request refused');
        if (msg.reply) msg.respond(JSON.stringify(reply));
      });
    },
  });
}
