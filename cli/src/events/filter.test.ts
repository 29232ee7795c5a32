import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '@sluice/contracts';
import { hostGlob, matches, parseFilter, parseSince, subjectFor } from './filter.ts';

const ev = (over: Partial<EgressEvent>): EgressEvent => ({
  id: 'n:b:1',
  time: '2026-11-23T12:00:00.000Z',
  node: 'n',
  kind: 'connect',
  verdict: 'DENIED',
  audit: false,
  reason: 'default',
  rule_id: 0,
  cgroup_id: '1',
  pid: 1,
  comm: 'curl',
  family: 'ipv4',
  l4_proto: 'tcp',
  dst_ip: '1.2.3.4',
  dst_port: 443,
  attribution: 'docker',
  project: 'p',
  agent: 'a',
  ...over,
});

describe('event filter', () => {
  it('globs hosts label-wise', () => {
    expect(hostGlob('*.github.com').test('api.github.com')).toBe(true);
    expect(hostGlob('*.github.com').test('a.b.github.com')).toBe(false);
    expect(hostGlob('**.github.com').test('a.b.github.com')).toBe(true);
    expect(hostGlob('api.github.com').test('apixgithub.com')).toBe(false);
  });

  it('combines every flag', () => {
    const f = parseFilter({ project: 'p', verdict: 'denied', host: '*.example.com', port: '443' });
    expect(matches(f, ev({ dst_host: 'www.example.com' }))).toBe(true);
    expect(matches(f, ev({ dst_host: 'www.example.com', dst_port: 80 }))).toBe(false);
    expect(matches(f, ev({ dst_host: 'www.example.com', verdict: 'ALLOWED' }))).toBe(false);
    expect(matches(f, ev({}))).toBe(false); // no host known: a host filter cannot match
    expect(matches(parseFilter({ agent: 'x' }), ev({}))).toBe(false);
  });

  it('parses since as a duration or a time', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(parseSince('15m', now)).toBe(now - 15 * 60_000);
    expect(parseSince('2026-11-23T11:00:00Z', now)).toBe(now - 3_600_000);
    expect(() => parseSince('yesterday', now)).toThrow(/--since "yesterday"/);
  });

  it('rejects bad flags naming them', () => {
    expect(() => parseFilter({ verdict: 'maybe' })).toThrow(/--verdict "maybe": expected one of ALLOWED, DENIED, BYPASSED/);
    expect(() => parseFilter({ port: '70000' })).toThrow(/--port "70000"/);
  });

  it('pushes project/agent/verdict into the subject filter', () => {
    expect(subjectFor(parseFilter({ project: 'my.proj', verdict: 'DENIED' }))).toBe('sluice.events.my%2Eproj.*.DENIED');
  });
});
