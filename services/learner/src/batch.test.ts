import { encodeToken, subjects, type EgressEvent } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { parseBatch, routeOf } from './batch.ts';
import { destinationKey, observe, parseDestinationKey } from './observation.ts';
import { SessionCache } from './session-cache.ts';
import { sessionId } from './session.ts';

const ev = (over: Partial<EgressEvent> = {}): EgressEvent => ({
  id: 'n:b:1',
  time: '2026-01-01T00:00:00.000Z',
  node: 'n',
  kind: 'connect',
  verdict: 'ALLOWED',
  audit: true,
  reason: 'learn',
  rule_id: 0,
  cgroup_id: '1',
  pid: 1,
  comm: 'curl',
  family: 'ipv4',
  l4_proto: 'TCP',
  dst_ip: '10.0.0.1',
  dst_port: 443,
  dst_host: 'API.Example.COM.',
  attribution: 'docker',
  project: 'p',
  agent: 'a',
  ...over,
});

describe('observe', () => {
  it('classifies audit and DENIED as learn, rule-allowed as allowed, the rest as skips', () => {
    expect(observe(ev())).toMatchObject({ cls: 'learn', target: 'h|api.example.com', proto: 'tcp', port: 443 });
    expect(observe(ev({ audit: false, verdict: 'DENIED', reason: 'default' }))).toMatchObject({ cls: 'learn' });
    expect(observe(ev({ audit: false, reason: 'rule' }))).toMatchObject({ cls: 'allowed' });
    expect(observe(ev({ audit: false, reason: 'loopback' }))).toBe('not_rule');
    expect(observe(ev({ verdict: 'BYPASSED', audit: false }))).toBe('bypassed');
    expect(observe(ev({ kind: 'suppressed' }))).toBe('suppressed');
    // Refused binds, options, packets and escapes are no egress attempts: nothing to allow.
    expect(observe(ev({ kind: 'bind', verdict: 'DENIED', reason: 'dns_bind', dst_ip: '127.0.0.11', dst_port: 53 }))).toBe('not_egress');
    expect(observe(ev({ kind: 'escape', verdict: 'BYPASSED', reason: 'escape' }))).toBe('not_egress');
    expect(observe(ev({ dst_port: 0 }))).toBe('no_destination');
  });
  it('marks DNS that got bytes back as answered; a loopback resolver flow is resolver evidence, not a rule candidate', () => {
    const dns = { dst_host: undefined, dst_ip: '127.0.0.11', dst_port: 53, l4_proto: 'UDP', kind: 'udp_flow' as const };
    expect(observe(ev({ ...dns, audit: false, reason: 'loopback', bytes_in: 120 }))).toMatchObject({ cls: 'resolver', ip: '127.0.0.11', answered: true });
    expect(observe(ev({ ...dns, audit: false, reason: 'loopback', bytes_in: 0 }))).toBe('not_rule');
    expect(observe(ev({ ...dns, dst_ip: '198.51.100.7', bytes_in: 0 }))).toMatchObject({ cls: 'learn', answered: false });
    expect(observe(ev({ ...dns, dst_ip: '198.51.100.7', bytes_in: 80 }))).toMatchObject({ cls: 'learn', answered: true });
    expect(observe(ev({ audit: false, reason: 'loopback', bytes_in: 500 }))).toBe('not_rule'); // port 443: no resolver
  });
  it('keys IP-only destinations by address', () => {
    const o = observe(ev({ dst_host: undefined, dst_ip: '2001:db8::1' }));
    expect(typeof o !== 'string' && parseDestinationKey(destinationKey(o))).toEqual({ proto: 'tcp', port: 443, ip: '2001:db8::1' });
  });
});

describe('routeOf / parseBatch', () => {
  it('routes event subjects only', () => {
    expect(routeOf('sluice.events.my%20proj.bot.DENIED')).toEqual({ projectToken: 'my%20proj', agentToken: 'bot' });
    const long = subjects.events('p'.repeat(4096), 'bot', 'DENIED');
    expect(routeOf(long)).toEqual({ projectToken: encodeToken('p'.repeat(4096)), agentToken: 'bot' });
    expect(routeOf('sluice.dns.p.a')).toBeUndefined();
    expect(routeOf('sluice.events.bad.subject')).toBeUndefined();
  });

  it('counts bad lines by reason and keeps the good ones', () => {
    const live = new Set([sessionId({ project: 'p' })]);
    const text = [JSON.stringify(ev()), '{not json', JSON.stringify({ id: 'x' }), '', JSON.stringify(ev({ id: 'n:b:2', reason: 'loopback', audit: false }))].join('\n');
    const r = parseBatch(text, live);
    expect(r.events).toBe(2);
    expect(Object.fromEntries(r.invalid)).toEqual({ json: 1, schema: 1 });
    expect(Object.fromEntries(r.skipped)).toEqual({ not_rule: 1 });
    expect(r.bySession.get(sessionId({ project: 'p' }))).toHaveLength(1);
  });

  it('feeds both the agent session and the project session, and never another project', () => {
    const live = new Set([sessionId({ project: 'p' }), sessionId({ project: 'p', agent: 'a' }), sessionId({ project: 'q' })]);
    const r = parseBatch([JSON.stringify(ev()), JSON.stringify(ev({ id: '2', agent: 'b' }))].join('\n'), live);
    expect(r.bySession.get(sessionId({ project: 'p', agent: 'a' }))).toHaveLength(1);
    expect(r.bySession.get(sessionId({ project: 'p' }))).toHaveLength(2);
    expect(r.bySession.has(sessionId({ project: 'q' }))).toBe(false);
  });
});

describe('SessionCache', () => {
  it('reloads on a miss once stale, not before; invalidate forces it', async () => {
    let loads = 0;
    let now = 0;
    let ids = new Set<string>();
    const cache = new SessionCache(async () => (loads++, new Set(ids)), 100, () => now);
    expect(await cache.match(['x'])).toEqual([]);
    expect(loads).toBe(1);
    ids = new Set(['x']);
    now = 50;
    expect(await cache.match(['x'])).toEqual([]);
    expect(loads).toBe(1);
    now = 151;
    expect(await cache.match(['x', 'y'])).toEqual(['x']);
    expect(loads).toBe(2);
    ids = new Set(['x', 'y']);
    cache.invalidate();
    expect(await cache.match(['y'])).toEqual(['y']);
    expect(loads).toBe(3);
  });
});
