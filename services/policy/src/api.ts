// The request handlers behind sluice.api.policy.<verb> (POLICY_API in contracts). Transport-free:
// the rpc kit (packages/runtime) decodes and validates each request and turns a thrown RpcError
// (or a store conflict, see policyApiError) into the reply envelope. The NATS wiring is in server.ts.
import { createHash, randomBytes } from 'node:crypto';
import {
  parsePolicy,
  POLICY_AUDIT_KINDS,
  PolicyRequests,
  type AuditEvent,
  type POLICY_API,
  type RpcErrorBody,
  type BypassRecord,
  type PolicyDocument,
  type PolicyVerb,
} from '@sluice/contracts';
import { RpcError, type Handlers } from '@sluice/runtime';
import type { z } from 'zod';
import { describeChange } from './change.ts';
import { compile, type Workload } from './compile.ts';
import { keepEntry } from './desired.ts';
import { emptyState, type MapState } from './model.ts';
import { plan } from './plan.ts';
import { ConflictError, type PolicyStore, type Revision } from './store.ts';

/** What this node's maps hold, so `diff`/`apply` can show the real map operations. */
export interface NodeView {
  actual: MapState;
  workloads: Workload[];
  /** cgroups the service installs itself (the canary): no document decides them, the preview keeps them. */
  pinnedCgroups?: string[];
}

export interface ApiDeps {
  store: PolicyStore;
  audit: (e: AuditEvent) => Promise<void>;
  node?: () => NodeView | undefined;
  now?: () => Date;
  maxBytes?: number;
  maxAliasCount?: number;
}

type Req<V extends PolicyVerb> = z.infer<(typeof PolicyRequests)[V]>;

/** A store conflict is the caller's to resolve (diff again), not a server fault. */
export function policyApiError(err: unknown): RpcErrorBody | undefined {
  return err instanceof ConflictError ? { code: 'conflict', message: err.message } : undefined;
}

export class PolicyApi {
  constructor(private readonly deps: ApiDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The verbs, for serveApi (packages/runtime rpc.ts): validation and the envelope are the kit's. */
  readonly handlers: Handlers<typeof POLICY_API> = {
    validate: (req) => this.validate(req),
    diff: (req) => this.diff(req),
    apply: (req) => this.apply(req),
    get: (req) => this.get(req),
    history: (req) => this.deps.store.history(req.limit),
    rollback: (req) => this.rollback(req),
    bypass: (req) => this.bypass(req),
    bypass_list: () => this.bypassList(),
    bypass_cancel: (req) => this.bypassCancel(req),
  };

  private parse(yaml: string, file?: string): PolicyDocument {
    const r = parsePolicy(yaml, {
      file: file ?? '<request>',
      ...(this.deps.maxBytes ? { maxBytes: this.deps.maxBytes } : {}),
      ...(this.deps.maxAliasCount ? { maxAliasCount: this.deps.maxAliasCount } : {}),
    });
    if (!r.ok) throw new RpcError('invalid_policy', `${r.errors.length} error(s) in ${file ?? 'the document'}`, r.errors);
    return r.document;
  }

  private currentDocument(rev: Revision | undefined): PolicyDocument | undefined {
    if (!rev) return undefined;
    const r = parsePolicy(rev.yaml, { file: `revision ${rev.revision}` });
    if (!r.ok) throw new Error(`stored revision ${rev.revision} no longer validates: ${r.errors[0]?.reason}`);
    return r.document;
  }

  private async validate(req: Req<'validate'>) {
    const doc = this.parse(req.yaml, req.file);
    return { valid: true as const, policies: doc.policies.length };
  }

  /** Compile against the current revision and this node's maps (or an empty node). */
  private async prepare(yaml: string, file: string | undefined) {
    const doc = this.parse(yaml, file);
    const current = await this.deps.store.current();
    const before = this.currentDocument(current);
    const view = this.deps.node?.();
    const compiled = compile({
      document: doc,
      ...(current ? { previous: current.ids } : {}),
      ...(view ? { present: [...view.actual.policies.keys(), ...view.actual.written.keys()] } : {}),
      workloads: view?.workloads ?? [],
    });
    const actual = view?.actual ?? (before && current ? compile({ document: before, previous: current.ids, workloads: [] }).state : emptyState());
    // Bypass entries are not part of a document: keep the node's as they are in the preview.
    for (const [cg, exp] of actual.bypass) compiled.state.bypass.set(cg, exp);
    for (const cg of view?.pinnedCgroups ?? []) keepEntry(actual, compiled.state, cg);
    const change = describeChange({ document: before, revision: current?.revision ?? 0 }, doc, compiled, plan(actual, compiled.state));
    return { doc, current, compiled, change };
  }

  private async diff(req: Req<'diff'>) {
    return (await this.prepare(req.yaml, req.file)).change;
  }

  private async store(
    yaml: string,
    file: string | undefined,
    actor: string,
    reason: string | undefined,
    expect: number | undefined,
    rollbackOf?: number,
    proposal?: { id: string | undefined },
  ) {
    const { current, compiled, change } = await this.prepare(yaml, file);
    const before = current?.revision ?? 0;
    if (expect !== undefined && expect !== before) {
      throw new RpcError('conflict', `expected revision ${expect} but the current one is ${before}`);
    }
    const sha256 = createHash('sha256').update(yaml).digest('hex');
    const time = this.now().toISOString();
    const revision = await this.deps.store.put(
      {
        meta: { time, actor, sha256, ...(reason ? { reason } : {}), ...(file ? { file } : {}), ...(rollbackOf ? { rollback_of: rollbackOf } : {}) },
        yaml,
        ids: compiled.ids,
      },
      before,
    );
    await this.deps.audit({
      id: `${rollbackOf ? 'rollback' : 'apply'}-${revision}-${randomBytes(4).toString('hex')}`,
      time,
      kind: rollbackOf ? POLICY_AUDIT_KINDS.rollback : proposal ? POLICY_AUDIT_KINDS.learnerAccept : POLICY_AUDIT_KINDS.apply,
      actor,
      ...(reason ? { reason } : {}),
      before_revision: before,
      after_revision: revision,
      detail: {
        sha256,
        policies: change.policies,
        ...(rollbackOf ? { rollback_of: rollbackOf } : {}),
        ...(proposal?.id ? { proposal_id: proposal.id } : {}),
      },
    });
    return { revision, change };
  }

  private apply(req: Req<'apply'>) {
    const proposal = req.origin === 'learner' ? { id: req.proposal_id } : undefined;
    return this.store(req.yaml, req.file, req.actor, req.reason, req.expect_revision, undefined, proposal);
  }

  private async rollback(req: Req<'rollback'>) {
    const target = await this.deps.store.get(req.revision);
    if (!target) throw new RpcError('not_found', `revision ${req.revision} is not in the history (kept: the last 64)`);
    return this.store(target.yaml, target.meta.file, req.actor, req.reason ?? `rollback to revision ${req.revision}`, undefined, req.revision);
  }

  private async get(req: Req<'get'>) {
    const rev = req.revision ? await this.deps.store.get(req.revision) : await this.deps.store.current();
    if (!rev) throw new RpcError('not_found', req.revision ? `revision ${req.revision} not found` : 'no policy has been applied yet');
    return { revision: rev.revision, ...rev.meta, yaml: rev.yaml, ids: rev.ids };
  }

  private async bypass(req: Req<'bypass'>) {
    const now = this.now();
    const record: BypassRecord = {
      id: randomBytes(6).toString('hex'),
      agent: req.agent,
      ...(req.project ? { project: req.project } : {}),
      expires_at: new Date(now.getTime() + req.duration_s * 1000).toISOString(),
      actor: req.actor,
      reason: req.reason,
      created_at: now.toISOString(),
    };
    await this.deps.store.putBypass(record);
    const current = await this.deps.store.current();
    await this.deps.audit({
      id: `bypass-${record.id}`,
      time: record.created_at,
      kind: POLICY_AUDIT_KINDS.bypass,
      actor: req.actor,
      reason: req.reason,
      ...(current ? { before_revision: current.revision, after_revision: current.revision } : {}),
      subject: { agent: req.agent, ...(req.project ? { project: req.project } : {}) },
      detail: { bypass_id: record.id, expires_at: record.expires_at, duration_s: req.duration_s },
    });
    return record;
  }

  private async bypassList() {
    const now = this.now().toISOString();
    return (await this.deps.store.bypasses()).map((b) => ({ ...b, expired: b.expires_at <= now }));
  }

  private async bypassCancel(req: Req<'bypass_cancel'>) {
    const b = await this.deps.store.getBypass(req.id);
    if (!b) throw new RpcError('not_found', `no bypass with id ${req.id}`);
    await this.deps.store.deleteBypass(req.id);
    const current = await this.deps.store.current();
    await this.deps.audit({
      id: `bypass-cancel-${req.id}-${randomBytes(4).toString('hex')}`,
      time: this.now().toISOString(),
      kind: POLICY_AUDIT_KINDS.bypassCancel,
      actor: req.actor,
      ...(req.reason ? { reason: req.reason } : {}),
      ...(current ? { before_revision: current.revision, after_revision: current.revision } : {}),
      subject: { agent: b.agent, ...(b.project ? { project: b.project } : {}) },
      detail: { bypass_id: b.id, expires_at: b.expires_at },
    });
    return { cancelled: b.id };
  }
}
