import { describe, expect, it } from 'vitest';
import { canaryReady, ERROR_LIMIT, INITIAL_STATE, judgeAttempt, nextState, type CanaryState } from './canary-judge.ts';

const allowed = { dst: '127.0.0.1', port: 1000, expect: 'allowed' as const };
const denied = { dst: '127.0.0.1', port: 2000, expect: 'denied' as const };

describe('judgeAttempt', () => {
  it('accepts a connected allowed target and an EPERM denied one', () => {
    expect(judgeAttempt('canary', allowed, 'connected').deviation).toBeUndefined();
    expect(judgeAttempt('canary', denied, 'EPERM').deviation).toBeUndefined();
  });

  it('flags an allowed target refused by the kernel, and any other failure of it', () => {
    expect(judgeAttempt('canary', allowed, 'EPERM').deviation).toMatch(/allowed destination 127.0.0.1:1000 failed \(EPERM\)/);
    expect(judgeAttempt('canary', allowed, 'ETIMEDOUT').deviation).toMatch(/ETIMEDOUT/);
  });

  it('flags a denied target that was reached, or failed other than by a kernel denial', () => {
    expect(judgeAttempt('default', denied, 'connected').deviation).toMatch(/was reachable/);
    expect(judgeAttempt('default', denied, 'ECONNREFUSED').deviation).toMatch(/not refused by the kernel \(ECONNREFUSED\)/);
  });
});

describe('nextState', () => {
  const ok = (s: CanaryState) => nextState(s, 'ok', 'fine');
  const bad = (s: CanaryState) => nextState(s, 'deviated', 'denied reachable');
  const err = (s: CanaryState) => nextState(s, 'error', 'spawn failed');

  it('is not ok before the first verdict (without failing readiness), ok after a right one', () => {
    expect(canaryReady(INITIAL_STATE)).toMatchObject({ ok: false, required: false });
    const t = ok(INITIAL_STATE);
    expect(t.event).toBeUndefined();
    expect(canaryReady(t.state)).toEqual({ ok: true, detail: 'fine', required: true });
  });

  it('raises once on the first deviation and clears once when right again', () => {
    const b1 = bad(ok(INITIAL_STATE).state);
    expect(b1.event).toBe('broken');
    expect(canaryReady(b1.state)).toEqual({ ok: false, detail: 'enforcement_broken: denied reachable', required: true });
    const b2 = bad(b1.state);
    expect(b2.event).toBeUndefined();
    const r = ok(b2.state);
    expect(r.event).toBe('restored');
    expect(r.state.broken).toBe(false);
  });

  it('a round that cannot probe neither raises nor clears, keeps the finding, and degrades after the limit', () => {
    const b = bad(INITIAL_STATE).state;
    const e = err(b);
    expect(e.event).toBeUndefined();
    expect(e.state).toMatchObject({ broken: true, detail: 'denied reachable', errors: 1 });
    let s = ok(INITIAL_STATE).state;
    for (let i = 0; i < ERROR_LIMIT - 1; i++) s = err(s).state;
    expect(canaryReady(s).ok).toBe(true);
    s = err(s).state;
    expect(canaryReady(s)).toEqual({ ok: false, detail: `canary cannot probe (${ERROR_LIMIT} rounds): spawn failed`, required: false });
    expect(ok(s).state.errors).toBe(0);
  });
});
