// `sluice learn accept`: the operator's act. The learner prepares the merged policy document (it
// may only read policy); the CLI, under the operator's NATS identity, applies it through the policy
// API with expect_revision — so a policy changed meanwhile is never overwritten — and reports back
// so the learner audits the accept (learn_accept) beside the policy service's policy_apply.
import type { NatsConnection } from '@nats-io/transport-node';
import { apiSubject, formatPolicyError, LEARN_API, parsePolicy, POLICY_API } from '@sluice/contracts';
import { replayProof, resolverHint, resolverSuggestionHint, type ProofAttempt } from '@sluice/learner/proof';
import { request, RpcError } from '@sluice/runtime';

export interface AcceptOptions {
  project: string;
  agent?: string;
  actor: string;
  reason?: string;
  enforce: boolean;
  wildcards: string[];
  /** Suggested resolvers (not loopback, not declared trusted) accepted on purpose. */
  resolvers?: string[];
  /** Policy API subject prefix (unset: sluice.api.policy). */
  policyApi?: string;
  timeoutMs: number;
}

export interface AcceptResult {
  changed: boolean;
  revision: number;
  policy: string;
  added: string[];
  /** The accept was applied but the learner could not audit/record it (the policy_apply audit stands). */
  warning?: string;
  /** The session's would-deny attempts replayed against the applied document: none denied. */
  proof?: { destinations: number; attempts: number; would_deny: 0 };
}

interface DiffProof {
  destinations: number;
  attempts: number;
  replay: ProofAttempt[];
}

interface DiffProposal {
  proof?: DiffProof;
  resolver_suggestions?: Array<{ resolver: string }>;
}

/**
 * Replay the session's would-deny attempts against the exact document about to be applied; throws
 * (nothing applied) when any would still be denied. The attempts are read after `prepare`, so
 * traffic learned in between makes the check stricter, never looser.
 */
export async function proveAccept(
  nc: NatsConnection,
  sel: { project: string; agent?: string },
  yaml: string,
  timeoutMs: number,
): Promise<{ destinations: number; attempts: number; would_deny: 0 }> {
  const diff = await request(nc, LEARN_API, 'diff', sel, { timeoutMs });
  // The proposal travels as unknown in the contract (the learner owns its shape).
  const proposal = diff.proposal as DiffProposal | undefined;
  const proof = proposal?.proof;
  if (!proof || !Array.isArray(proof.replay)) {
    throw new RpcError('proof_missing', 'the learner offered no proof for this proposal (is it older than the CLI?): nothing applied', undefined, apiSubject(LEARN_API, 'diff'));
  }
  const parsed = parsePolicy(yaml, { file: '<accepted proposal>' });
  if (!parsed.ok) throw new RpcError('invalid_policy', parsed.errors.map(formatPolicyError).join('\n'), undefined, apiSubject(LEARN_API, 'prepare'));
  const misses = replayProof(parsed.document, sel, proof.replay);
  if (misses.length) {
    const suggested = (proposal?.resolver_suggestions ?? []).map((r) => r.resolver);
    const hint = resolverSuggestionHint(misses, suggested) ?? resolverHint(parsed.document, sel, misses);
    throw new RpcError(
      'proof_failed',
      `refusing to accept: replayed against the accepted policy, ${misses.length} of the session's learned destinations would still be denied; nothing applied${hint ? `. ${hint}` : ''}`,
      misses.map((m) => `${m.agent ?? '-'} -> ${m.destination}:${m.port}/${m.proto} ${m.outcome}`),
      apiSubject(LEARN_API, 'diff'),
    );
  }
  return { destinations: proof.destinations, attempts: proof.attempts, would_deny: 0 };
}

export async function acceptLearned(nc: NatsConnection, o: AcceptOptions): Promise<AcceptResult> {
  const sel = { project: o.project, ...(o.agent !== undefined ? { agent: o.agent } : {}) };
  const opts = { timeoutMs: o.timeoutMs };
  // One retry when the policy changed between prepare and apply: prepare again on the new revision.
  for (let attempt = 0; ; attempt++) {
    const p = await request(nc, LEARN_API, 'prepare', { ...sel, enforce: o.enforce, wildcards: o.wildcards, resolvers: o.resolvers ?? [] }, opts);
    if (!p.changed || p.yaml === undefined) return { changed: false, revision: p.base_revision, policy: p.policy, added: [] };
    const proof = await proveAccept(nc, sel, p.yaml, o.timeoutMs);
    const reason = o.reason ?? `accept learn proposal for project ${o.project}${o.agent ? ` agent ${o.agent}` : ''}`;
    let revision: number;
    try {
      const applied = await request(
        nc,
        POLICY_API,
        'apply',
        { yaml: p.yaml, file: `learn:${o.project}${o.agent ? `/${o.agent}` : ''}`, actor: o.actor, reason, expect_revision: p.base_revision },
        { ...opts, prefix: o.policyApi },
      );
      revision = applied.revision;
    } catch (err) {
      if (attempt === 0 && err instanceof RpcError && err.code === 'conflict') continue;
      throw err;
    }
    const result: AcceptResult = { changed: true, revision, policy: p.policy, added: p.added, proof };
    try {
      await request(
        nc,
        LEARN_API,
        'accepted',
        { ...sel, actor: o.actor, reason, before_revision: p.base_revision, revision, policy: p.policy, added: p.added, enforce: o.enforce, wildcards: o.wildcards, resolvers: o.resolvers ?? [] },
        opts,
      );
    } catch (err) {
      result.warning = `applied as revision ${revision}, but the learner did not record the accept: ${(err as Error).message}`;
    }
    return result;
  }
}
