// Keeps this node's pinned maps equal to the desired state. Every trigger (a new revision, a
// bypass change, a container start/stop, the reconcile timer, start-up) runs the same loop:
// dump → desired → planned batches → `sluice-bpf apply`. Runs are serialised and coalesced, and a
// failed run leaves the maps in a consistent state (each batch is all-or-nothing or a set of
// independent flips between complete policies) for the next run to finish.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy, type BypassRecord, type ContainerLifecycle, type PolicyDocument, type PolicyMode } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { EMPTY_ID_TABLE, policyHash, type PinnedPolicy, type PolicyIdTable, type Workload } from './compile.ts';
import { desiredState } from './desired.ts';
import { bootNowNs, dumpState, type ApplySession } from './helper.ts';
import type { MapState } from './model.ts';
import type { Revision } from './store.ts';

export interface SyncMetrics {
  run: (outcome: 'ok' | 'failed' | 'noop') => void;
  ops: (op: string, n: number) => void;
  orphans: (n: number) => void;
  gone: (n: number) => void;
}

export interface SyncDeps {
  bin: string;
  pin: string;
  session: ApplySession;
  /** A new apply session when the current one died (killed as hung, crashed): the sync heals. */
  reopen?: () => Promise<ApplySession>;
  /** Bound on each `sluice-bpf dump` (helper.ts's default when unset). */
  helperTimeoutMs?: number;
  log: Logger;
  metrics?: SyncMetrics;
  /** Root of the cgroup v2 hierarchy, to tell live cgroups from gone ones. */
  cgroupRoot: string;
  node: string;
}

/** Inode numbers of every cgroup directory: cgroup ids on cgroup v2. */
export function liveCgroupIds(root: string): Set<string> {
  const ids = new Set<string>();
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while walking: it is gone, which is what we report
    }
    try {
      ids.add(String(statSync(dir).ino));
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(root);
  return ids;
}

export class PolicySync {
  private document: PolicyDocument | undefined;
  private revision: Revision | undefined;
  private bypasses: BypassRecord[] = [];
  private pinned: PinnedPolicy[] = [];
  /** Kernel ids of the pinned policies (no revision records them), so they stay put across runs. */
  private pinnedIds: PolicyIdTable['policies'] = {};
  private readonly workloads = new Map<string, Workload>();
  /** Died/destroyed since this process started; forgotten when the id starts again (inode reuse). */
  private readonly retired = new Set<string>();
  /** Local ms of the last die/destroy per cgroup (identity-reconcile.ts must not undo a newer one). */
  private readonly retiredMs = new Map<string, number>();
  private running: Promise<void> | undefined;
  private again = false;
  private readonly bootOffsetNs = bootNowNs() - BigInt(Date.now()) * 1_000_000n;
  /** The revision whose policies are in the maps; undefined before the first successful run. */
  appliedRevision: number | undefined;
  lastActual: MapState | undefined;

  private current: ApplySession;

  constructor(private readonly deps: SyncDeps) {
    this.current = deps.session;
  }

  /** The apply session in use (the one to close on shutdown). */
  get session(): ApplySession {
    return this.current;
  }

  private async liveSession(): Promise<ApplySession> {
    if (this.current.alive || !this.deps.reopen) return this.current;
    this.deps.log.warn('sluice-bpf apply is gone; starting a new apply session');
    this.current = await this.deps.reopen();
    return this.current;
  }

  setRevision(rev: Revision | undefined): void {
    if (rev) {
      const r = parsePolicy(rev.yaml, { file: `revision ${rev.revision}` });
      // Stored revisions were validated on apply; one that no longer parses is kept out of the
      // kernel (the maps keep the last good state) and reported loudly.
      if (!r.ok) {
        this.deps.log.error({ revision: rev.revision, errors: r.errors }, 'stored policy revision does not validate; not applied');
        return;
      }
      this.document = r.document;
    } else this.document = undefined;
    this.revision = rev;
    this.trigger('revision');
  }

  setBypasses(list: BypassRecord[]): void {
    this.bypasses = list;
    this.trigger('bypass');
  }

  /** Policies of the service's own fixed cgroups (the canary); resolves after the sync that installs them. */
  setPinned(list: PinnedPolicy[]): Promise<void> {
    this.pinned = list;
    return this.trigger('pinned');
  }

  /** The cgroups the pinned policies are installed for. */
  pinnedCgroups(): string[] {
    return this.pinned.flatMap((p) => p.cgroups);
  }

  /** What cgroups without an entry get, by the current revision. */
  defaultMode(): PolicyMode {
    return this.document?.default.mode ?? 'enforce';
  }

  /** The ids for this run: the revision's, plus the pinned policies' (remembered, or read back from the maps). */
  private idsFor(actual: MapState): PolicyIdTable | undefined {
    if (this.pinned.length === 0) return this.revision?.ids;
    const base = this.revision?.ids ?? EMPTY_ID_TABLE;
    const extra: PolicyIdTable['policies'] = {};
    for (const pin of this.pinned) {
      const name = pin.policy.name;
      const known = this.pinnedIds[name];
      const entry = pin.cgroups.map((cg) => actual.cgroups.get(cg)).find((e) => e !== undefined);
      // After a restart, the id the maps hold for the canary cgroup: kept if its content is still
      // the canary's (the planner re-allocates it otherwise).
      const id = known ?? (entry ? { id: entry.policy_id, hash: policyHash(pin.policy) } : undefined);
      if (id) extra[name] = id;
    }
    return { ...base, policies: { ...base.policies, ...extra } };
  }

  /** Lifecycle messages for this node: start (and snapshots) install, die/destroy remove. */
  onLifecycle(m: ContainerLifecycle): void {
    if (m.node !== this.deps.node || m.cgroup_id === undefined) return;
    if (m.event === 'die' || m.event === 'destroy') {
      this.workloads.delete(m.cgroup_id);
      this.retired.add(m.cgroup_id);
      this.retiredMs.set(m.cgroup_id, Date.now());
    } else {
      this.retired.delete(m.cgroup_id);
      this.workloads.set(m.cgroup_id, { cgroup_id: m.cgroup_id, project: m.project, agent: m.agent });
    }
    this.trigger(`container ${m.event}`);
  }

  workload(cgroupId: string): Workload | undefined {
    return this.workloads.get(cgroupId);
  }

  retiredAt(cgroupId: string): number | undefined {
    return this.retiredMs.get(cgroupId);
  }

  workloadList(): Workload[] {
    return [...this.workloads.values()];
  }

  /** The last run's failure, cleared by a successful run (readiness reads it). */
  lastError: Error | undefined;

  /** Coalesces: a trigger during a run causes exactly one more run after it. Never rejects. */
  trigger(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.runOnce(reason);
            this.lastError = undefined;
          } catch (err) {
            this.lastError = err as Error; // logged in runOnce; the next trigger retries
          }
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async runOnce(reason: string): Promise<void> {
    const { bin, pin, log, metrics } = this.deps;
    try {
      const actual = await dumpState(bin, pin, this.deps.helperTimeoutMs);
      const live = liveCgroupIds(this.deps.cgroupRoot);
      const d = desiredState({
        document: this.document,
        ids: this.idsFor(actual),
        workloads: this.workloads.values(),
        pinned: this.pinned,
        bypasses: this.bypasses,
        actual,
        cgroupExists: (id) => live.has(id),
        retired: this.retired,
        nowMs: Date.now(),
        bootOffsetNs: this.bootOffsetNs,
      });
      for (const pin of this.pinned) {
        const id = d.compiled.ids.policies[pin.policy.name];
        if (id) this.pinnedIds[pin.policy.name] = id;
      }
      metrics?.orphans(d.orphans.length);
      if (d.gone.length) metrics?.gone(d.gone.length);
      if (d.orphans.length) log.warn({ orphans: d.orphans }, 'cgroup entries no lifecycle message explains: kept as they are');
      if (d.reallocated.length) log.warn({ ids: d.reallocated }, 'policy ids hold other content in the maps: re-allocated on this node');
      for (const g of d.compiled.gaps) log.warn({ gap: g }, 'policy gap');
      if (d.batches.length === 0) {
        metrics?.run('noop');
        this.appliedRevision = this.revision?.revision ?? 0;
        this.lastActual = actual;
        return;
      }
      const session = await this.liveSession();
      for (const batch of d.batches) {
        const r = await session.apply(batch);
        if (!r.ok) {
          const errors = r.results.filter((x) => x.error && !x.error.startsWith('not applied')).map((x) => `${x.op} (line ${x.line}): ${x.error}`);
          throw new Error(`sluice-bpf apply rejected a batch: ${errors.join('; ') || 'batch stopped'}`);
        }
        const counts = new Map<string, number>();
        for (const op of batch) counts.set(op.op, (counts.get(op.op) ?? 0) + 1);
        for (const [op, n] of counts) metrics?.ops(op, n);
      }
      this.appliedRevision = this.revision?.revision ?? 0;
      this.lastActual = await dumpState(bin, pin, this.deps.helperTimeoutMs);
      metrics?.run('ok');
      log.info({ reason, revision: this.appliedRevision, batches: d.batches.length, ops: d.batches.flat().length, gone: d.gone }, 'maps synchronised');
    } catch (err) {
      metrics?.run('failed');
      log.error({ err, reason }, 'map sync failed; the maps keep their last consistent state');
      throw err;
    }
  }
}
