// The live enforcement canary (issue #17): every interval, a probe in the canary cgroup (under
// the canary policy) connects to one allowed and one denied destination on loopback, and a probe
// in a second cgroup without an entry checks the default; both run as an agent runs (canary-probe.ts).
// A verdict that deviates raises enforcement_broken (audit event, gauge, readiness) until a round
// sees every verdict right again. Rounds never overlap; one that cannot probe changes nothing.
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CANARY_AUDIT_KINDS, type AuditEvent, type CanaryAttempt, type PolicyMode } from '@sluice/contracts';
import type { Logger, RunAs } from '@sluice/runtime';
import type { PinnedPolicy } from './compile.ts';
import type { MapState } from './model.ts';
import { INITIAL_STATE, judgeAttempt, nextState, type CanaryState, type RoundOutcome } from './canary-judge.ts';
import { openCanaryListeners, type CanaryListeners } from './canary-listeners.ts';
import { canaryPlan, canaryPolicy, previousCanaryPort, type CanaryTarget } from './canary-policy.ts';
import { runProbe } from './canary-probe.ts';

export interface CanaryConfig {
  cgroupRoot: string;
  /** The canary cgroup, relative to the cgroup2 mount, inside a managed scope (e.g. /sluice/canary). */
  cgroup: string;
  runAs: RunAs;
  /** The sluice-bpf helper: probes start under its `nobpf` seccomp wrapper, as `sluice run` agents do. */
  nobpf?: string | undefined;
  intervalMs: number;
  connectTimeoutMs: number;
  node: string;
}

export interface CanaryDeps {
  config: CanaryConfig;
  /** The map sync: installs the canary policy for the canary cgroup, says what the default is. */
  sync: { setPinned(list: PinnedPolicy[]): Promise<void>; defaultMode(): PolicyMode; readonly lastActual: MapState | undefined };
  audit: (e: AuditEvent) => Promise<void>;
  log: Logger;
  /** Every round's outcome and the state after it (metrics and readiness hang off this). */
  onRound: (outcome: RoundOutcome, state: CanaryState, attempts: CanaryAttempt[]) => void;
}

interface Edge {
  /** Fixed at the edge: a retry after a lost ack is deduplicated by JetStream (Nats-Msg-Id). */
  id: string;
  event: 'broken' | 'restored';
  detail: string;
  attempts: CanaryAttempt[];
  time: string;
}

interface ProbeCgroup {
  relative: string;
  path: string;
  id: string;
}

function ensureCgroup(root: string, relative: string): ProbeCgroup {
  const path = join(root, relative);
  mkdirSync(path, { recursive: true });
  return { relative, path, id: statSync(path, { bigint: true }).ino.toString() };
}

export class CanaryLoop {
  private state: CanaryState = INITIAL_STATE;
  private listeners: CanaryListeners | undefined;
  private canaryCg: ProbeCgroup | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Edges whose audit events could not be published yet, oldest first: retried every round. */
  private unpublished: Edge[] = [];

  constructor(private readonly deps: CanaryDeps) {}

  get current(): CanaryState {
    return this.state;
  }

  /** Opens the listeners, installs the canary policy (waits for that sync), then runs rounds. */
  async start(): Promise<void> {
    const { config } = this.deps;
    const cg = ensureCgroup(config.cgroupRoot, config.cgroup);
    this.listeners = await openCanaryListeners(previousCanaryPort(this.deps.sync.lastActual, cg.id));
    await this.pin();
    this.schedule(0);
  }

  private async pin(): Promise<void> {
    const { config } = this.deps;
    this.canaryCg = ensureCgroup(config.cgroupRoot, config.cgroup);
    const policy = canaryPolicy(this.listeners!.ports.allowed);
    await this.deps.sync.setPinned([{ policy, cgroups: [this.canaryCg.id] }]);
    this.deps.log.info({ cgroup: config.cgroup, cgroup_id: this.canaryCg.id, ports: this.listeners!.ports }, 'enforcement canary installed');
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule(this.deps.config.intervalMs);
      });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.listeners?.close();
  }

  /** One round; never rejects. Public so a test can drive rounds without waiting on the timer. */
  async round(): Promise<void> {
    const { config, log } = this.deps;
    await this.flushAudit();
    let outcome: RoundOutcome;
    let detail: string;
    let attempts: CanaryAttempt[] = [];
    try {
      // Someone removed and recreated the canary cgroup: a new id needs its entry first.
      const now = ensureCgroup(config.cgroupRoot, config.cgroup);
      if (now.id !== this.canaryCg?.id) {
        await this.pin();
        throw new Error(`canary cgroup ${config.cgroup} was recreated (id ${now.id}); entry re-installed`);
      }
      const defaultCg = ensureCgroup(config.cgroupRoot, `${config.cgroup}-default`);
      const plan = canaryPlan(this.listeners!.ports, this.deps.sync.defaultMode());
      const deniedBefore = this.listeners!.deniedAccepted();
      attempts = [...(await this.probe('canary', now, plan.canary)), ...(await this.probe('default', defaultCg, plan.default))];
      const deviations = attempts.filter((a) => a.deviation).map((a) => `${a.probe}: ${a.deviation}`);
      const leaked = this.listeners!.deniedAccepted() - deniedBefore;
      if (leaked > 0 && deviations.length === 0) deviations.push(`the denied listener accepted ${leaked} connection(s)`);
      outcome = deviations.length ? 'deviated' : 'ok';
      detail = deviations.length ? deviations.join('; ') : `verdicts right at ${new Date().toISOString()} (${attempts.length} connects)`;
    } catch (err) {
      outcome = 'error';
      detail = (err as Error).message;
    }
    const t = nextState(this.state, outcome, detail);
    this.state = t.state;
    if (outcome === 'error') log.warn({ detail }, 'canary round could not probe');
    if (t.event === 'broken') log.error({ detail, attempts }, 'enforcement_broken: canary verdicts deviate');
    if (t.event === 'restored') log.warn({ detail }, 'enforcement restored: canary verdicts right again');
    this.deps.onRound(outcome, this.state, attempts);
    if (t.event) {
      this.unpublished.push({ id: randomUUID(), event: t.event, detail, attempts, time: new Date().toISOString() });
      await this.flushAudit();
    }
  }

  private async probe(name: CanaryAttempt['probe'], cg: ProbeCgroup, targets: CanaryTarget[]): Promise<CanaryAttempt[]> {
    const r = await runProbe({
      cgroupPath: cg.path,
      cgroupRelative: cg.relative,
      runAs: this.deps.config.runAs,
      nobpf: this.deps.config.nobpf,
      targets,
      connectTimeoutMs: this.deps.config.connectTimeoutMs,
    });
    if (!r.ok) throw new Error(`${name} probe: ${r.error}`);
    return targets.map((t, i) => judgeAttempt(name, t, r.got[i]!));
  }

  /** In order; stops at the first failure so the trail never shows a clear before its raise. */
  private async flushAudit(): Promise<void> {
    const { config } = this.deps;
    while (this.unpublished.length) {
      const { id, event, detail, attempts, time } = this.unpublished[0]!;
      try {
        await this.deps.audit({
          id,
          time,
          kind: CANARY_AUDIT_KINDS[event],
          actor: 'policy-canary',
          reason: detail,
          subject: { node: config.node, cgroup: config.cgroup, cgroup_id: this.canaryCg?.id },
          detail: { attempts },
        });
        this.unpublished.shift();
      } catch (err) {
        // The gauge and readiness already say it; the audit trail gets it at the next round.
        this.deps.log.error({ err, event }, 'cannot publish the canary audit event; retried next round');
        return;
      }
    }
  }
}
