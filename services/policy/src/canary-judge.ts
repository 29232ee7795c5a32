// Whether a canary round saw the verdicts enforcement owes, and when the alarm is raised or
// cleared. Pure.
import type { CanaryAttempt } from '@sluice/contracts';
import type { CanaryTarget } from './canary-policy.ts';

/** What the probe saw for one target: `connected`, or the errno code of the failed connect. */
export type Observed = string;

export function judgeAttempt(probe: CanaryAttempt['probe'], t: CanaryTarget, got: Observed): CanaryAttempt {
  const a: CanaryAttempt = { probe, dst: t.dst, port: t.port, expect: t.expect, got };
  if (t.expect === 'allowed' && got !== 'connected') {
    a.deviation = `allowed destination ${t.dst}:${t.port} failed (${got})`;
  } else if (t.expect === 'denied' && got !== 'EPERM') {
    // A refused connect (EPERM) is the only kernel denial; reaching the listener, or any other
    // error, means the connect got past the programs.
    a.deviation = got === 'connected' ? `denied destination ${t.dst}:${t.port} was reachable` : `denied destination ${t.dst}:${t.port} was not refused by the kernel (${got})`;
  }
  return a;
}

export type RoundOutcome = 'ok' | 'deviated' | 'error';

export interface CanaryState {
  /** No round has produced verdicts yet: enforcement is not vouched for. */
  pending: boolean;
  /** Verdicts deviate: enforcement_broken is raised. */
  broken: boolean;
  /** Rounds in a row that could not probe at all (spawn failure, timeout, wrong cgroup or user). */
  errors: number;
  /** The last round's finding, for readiness and status. */
  detail: string;
}

export const INITIAL_STATE: CanaryState = { pending: true, broken: false, errors: 0, detail: 'first canary round pending' };

/** Rounds in a row without a verdict before the canary itself counts as failing (readiness). */
export const ERROR_LIMIT = 3;

export interface Transition {
  state: CanaryState;
  /** Emitted on the edge only: one audit event per incident, one when it clears. */
  event?: 'broken' | 'restored';
}

export function nextState(prev: CanaryState, outcome: RoundOutcome, detail: string): Transition {
  if (outcome === 'error') {
    // No verdict, no change of verdict: an unprobeable round neither raises nor clears the alarm
    // (and the deviation that raised it stays the finding shown).
    return { state: { ...prev, errors: prev.errors + 1, detail: prev.broken ? prev.detail : detail } };
  }
  const broken = outcome === 'deviated';
  const state = { pending: false, broken, errors: 0, detail };
  if (broken && !prev.broken) return { state, event: 'broken' };
  if (!broken && prev.broken) return { state, event: 'restored' };
  return { state };
}

/**
 * The readiness the canary contributes. Only a deviation fails readiness: a canary that has not
 * probed yet, or cannot probe at all (no setpriv, a cgroup namespace that forbids the move), leaves
 * the service ready but degraded, so it never holds a deployment hostage; status and doctor still
 * show it red.
 */
export function canaryReady(s: CanaryState): { ok: boolean; detail: string; required: boolean } {
  if (s.broken) return { ok: false, detail: `enforcement_broken: ${s.detail}`, required: true };
  if (s.pending) return { ok: false, detail: s.errors ? `no canary verdict yet (${s.errors} rounds failed): ${s.detail}` : s.detail, required: false };
  if (s.errors >= ERROR_LIMIT) return { ok: false, detail: `canary cannot probe (${s.errors} rounds): ${s.detail}`, required: false };
  return { ok: true, detail: s.detail, required: true };
}
