import { describe, expect, it } from 'vitest';
import { canBypassRaw, containerIps, dockerTimeMs, factsFromInspect } from './inspect.ts';

describe('inspect facts', () => {
  it('flags raw-socket capability the way Docker grants it', () => {
    expect(canBypassRaw({})).toBe(true); // Docker's default set keeps NET_RAW
    expect(canBypassRaw({ CapDrop: ['NET_RAW'] })).toBe(false);
    expect(canBypassRaw({ CapDrop: ['ALL'] })).toBe(false);
    expect(canBypassRaw({ CapDrop: ['cap_net_raw'] })).toBe(false);
    expect(canBypassRaw({ CapDrop: ['ALL'], CapAdd: ['CAP_NET_RAW'] })).toBe(true);
    expect(canBypassRaw({ CapDrop: ['ALL'], Privileged: true })).toBe(true);
  });

  it('keeps raw label values, omits absent ones, and keeps empty ones empty', () => {
    const f = factsFromInspect(
      {
        Id: 'abc',
        Name: '/web',
        Config: { Labels: { 'dev.clawker.agent': 'a.b c ✓', 'dev.clawker.project': '' }, Image: 'img' },
        State: { Pid: 42, StartedAt: '2026-11-23T12:00:00.123456789Z' },
      },
      { agent: 'dev.clawker.agent', project: 'dev.clawker.project' },
    );
    expect(f).toMatchObject({ agent: 'a.b c ✓', project: '', container_name: 'web', pid: 42, image: 'img' });
    expect(f.started_ms).toBe(Date.parse('2026-11-23T12:00:00.123Z'));
    const g = factsFromInspect({ Id: 'x', Config: { Labels: null } }, { agent: 'a', project: 'p' });
    expect('agent' in g).toBe(false);
    expect('project' in g).toBe(false);
  });

  it('collects addresses across networks and treats the zero time as never', () => {
    expect(
      containerIps({ IPAddress: '172.17.0.2', Networks: { b: { IPAddress: '10.0.0.2', GlobalIPv6Address: 'fd00::2' }, a: { IPAddress: '172.17.0.2' } } }),
    ).toEqual(['172.17.0.2', '10.0.0.2', 'fd00::2']);
    expect(dockerTimeMs('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(dockerTimeMs('garbage')).toBeUndefined();
  });

  it('does not carry label values over the cap or with lone surrogates; reports them instead', () => {
    const keys = { agent: 'dev.clawker.agent', project: 'dev.clawker.project' };
    const long = 'p'.repeat(64 * 1024);
    const f = factsFromInspect({ Id: 'x', Config: { Labels: { [keys.project]: long, [keys.agent]: 'a\ud800' } } }, keys);
    expect('project' in f || 'agent' in f).toBe(false);
    expect(f.rejected.map((r) => [r.label, r.key, r.reason, r.value.length])).toEqual([
      ['agent', keys.agent, 'label_not_unicode', 2],
      ['project', keys.project, 'label_too_long', 65536],
    ]);
    const ok = factsFromInspect({ Id: 'y', Config: { Labels: { [keys.project]: 'q'.repeat(4096), [keys.agent]: 'ctl\u0000\u001b' } } }, keys);
    expect(ok).toMatchObject({ project: 'q'.repeat(4096), agent: 'ctl\u0000\u001b', rejected: [] });
  });
});
