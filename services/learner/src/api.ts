// sluice.api.learn.<verb> (LEARN_API in contracts): start | status | diff | prepare | accepted | reset.
// Transport-free like the policy API: the rpc kit validates each request and answers with the one
// envelope; serveLearnApi wires it to NATS with one queue group across replicas. A change is also
// announced on LEARN_CHANGED_SUBJECT so every replica's session cache reloads.
//
// The learner never changes policy itself: NATS permissions (infra/nats/accounts.conf) give it the
// policy API's read verbs only, so a compromised learner cannot widen the firewall. `prepare`
// returns the merged document; the operator's CLI applies it with expect_revision and reports back
// with `accepted`, which the learner audits (learn_accept) beside the policy service's policy_apply.
import { randomBytes } from 'node:crypto';
import { LEARN_API, LearnRequests, parsePolicy, type AuditEvent, type PolicyDocument, type RpcErrorBody } from '@sluice/contracts';
import { RpcError, serveApi, type Handlers, type Logger, type NatsConnection } from '@sluice/runtime';
import type { Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { mergeProposal, MergeError } from './policy-merge.ts';
import { PolicyApiError, type CurrentPolicy, type PolicyClient } from './policy-client.ts';
import { propose, renderProposal } from './proposal.ts';
import type { SessionSelector } from './session.ts';
import type { LearnStore } from './store.ts';

export const LEARN_API_QUEUE = 'sluice-learner-api';

type LearnVerb = keyof typeof LearnRequests;
type Req<V extends LearnVerb> = z.infer<(typeof LearnRequests)[V]>;

/** The policy service's refusals keep their code under a `policy_` prefix: the caller sees whose it was. */
export function learnApiError(err: unknown): RpcErrorBody | undefined {
  if (err instanceof PolicyApiError) return { code: `policy_${err.code}`, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) };
  if (err instanceof MergeError) return { code: 'invalid_policy', message: err.message };
  return undefined;
}

export interface LearnApiDeps {
  store: LearnStore;
  /** Non-loopback resolvers the operator runs: proposed as resolvers when they answered (LEARNER_TRUSTED_RESOLVERS). */
  trustedResolvers?: readonly string[];
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

  /** The verbs, for serveApi (packages/runtime rpc.ts): validation and the envelope are the kit's. */
  readonly handlers: Handlers<typeof LEARN_API> = {
    start: (req) => this.start(req),
    status: (req) => this.status(req),
    diff: (req) => this.diff(req),
    prepare: (req) => this.prepare(req),
    accepted: (req) => this.accepted(req),
    reset: (req) => this.reset(req),
  };

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
    if (!parsed.ok) throw new RpcError('invalid_policy', `current policy revision ${current.revision} does not validate`, parsed.errors);
    return { current, doc: parsed.document };
  }

  private async computeDiff(sel: SessionSelector, strict: boolean) {
    const snap = await this.deps.store.snapshot(sel);
    if (!snap) throw new RpcError('not_found', `no learn session for ${describe(sel)} (start one with: sluice learn start)`);
    const pol = await this.currentPolicy(strict);
    const proposal = propose(pol.doc, sel, snap.destinations, snap.addresses, {
      answered: snap.resolvers,
      trustedResolvers: this.deps.trustedResolvers ?? [],
    });
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
    if (proposal.additions.length === 0 && proposal.resolvers.length === 0 && req.resolvers.length === 0 && !req.enforce) {
      return { base_revision, policy: proposal.policy, changed: false, added: [], session: snap.session };
    }
    const merged = mergeProposal(pol.current?.yaml, proposal, { enforce: req.enforce, wildcards: req.wildcards, resolvers: req.resolvers });
    return {
      base_revision,
      policy: proposal.policy,
      changed: true,
      added: merged.added,
      yaml: merged.yaml,
      suggestions_declined: proposal.suggestions.map((s) => s.host).filter((h) => !req.wildcards.includes(h)),
      resolvers_declined: proposal.resolver_suggestions.map((r) => r.resolver).filter((r) => !req.resolvers.includes(r)),
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
      { policy: req.policy, added: req.added, enforce: req.enforce, wildcards: req.wildcards, resolvers: req.resolvers },
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
  return serveApi(nc, LEARN_API, api.handlers, { queue: LEARN_API_QUEUE, log, mapError: learnApiError });
}
