import { describe, expect, it } from 'vitest';
import { checkReport, sameCgroup } from './canary-probe.ts';

const spec = { cgroupRelative: '/sluice/canary', runAs: { uid: 65534, gid: 65534 }, targets: [{ dst: '127.0.0.1', port: 1, expect: 'allowed' as const }] };
const report = (o: Record<string, unknown>) => JSON.stringify({ uid: 65534, cgroup: '/sluice/canary', cap_eff: '0000000000000000', no_new_privs: '1', got: ['connected'], ...o });

describe('checkReport', () => {
  it('takes a report from the canary cgroup, as the canary user, with no capabilities', () => {
    expect(checkReport(report({}), spec)).toEqual({ ok: true, got: ['connected'] });
  });

  it('refuses a probe that ran elsewhere, as someone else, or privileged: those are no verdicts', () => {
    expect(checkReport(report({ cgroup: '/' }), spec)).toMatchObject({ ok: false, error: expect.stringMatching(/cgroup \/, not \/sluice\/canary/) });
    expect(checkReport(report({ uid: 0 }), spec)).toMatchObject({ ok: false, error: expect.stringMatching(/uid 0/) });
    expect(checkReport(report({ cap_eff: '000001ffffffffff' }), spec)).toMatchObject({ ok: false, error: expect.stringMatching(/not unprivileged/) });
    expect(checkReport(report({ no_new_privs: '0' }), spec)).toMatchObject({ ok: false });
    expect(checkReport(report({ got: [] }), spec)).toMatchObject({ ok: false, error: expect.stringMatching(/0 results for 1/) });
    expect(checkReport('garbage', spec)).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
  });

  it('takes the cgroup path as a cgroup namespace shows it', () => {
    expect(sameCgroup('/sluice/canary', '/sluice/canary')).toBe(true);
    expect(sameCgroup('/../../sluice/canary', '/sluice/canary')).toBe(true);
    expect(sameCgroup('/canary', '/sluice/canary')).toBe(true);
    expect(sameCgroup('/', '/sluice/canary')).toBe(false);
    expect(sameCgroup('/sluice/other', '/sluice/canary')).toBe(false);
    expect(sameCgroup('/xcanary', '/sluice/canary')).toBe(false);
  });
});
