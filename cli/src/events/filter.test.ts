import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '@sluice/contracts';
import { buildFilter, compileFilter, hostGlob, parseSince, parseTerm, parseTime, type FilterSpec } from './filter.ts';

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

const keep = (spec: FilterSpec, e: EgressEvent) => compileFilter(buildFilter(spec))(e);

describe('event filter', () => {
  it('globs hosts label-wise', () => {
    expect(hostGlob('*.github.com').test('api.github.com')).toBe(true);
    expect(hostGlob('*.github.com').test('a.b.github.com')).toBe(false);
    expect(hostGlob('**.github.com').test('a.b.github.com')).toBe(true);
    expect(hostGlob('api.github.com').test('apixgithub.com')).toBe(false);
  });

  it('matches --host against the name and the address, case-insensitively', () => {
    expect(keep({ include: { host: ['API.github.com'] } }, ev({ dst_host: 'api.GitHub.com' }))).toBe(true);
    expect(keep({ include: { host: ['1.2.3.*'] } }, ev({}))).toBe(true);
    expect(keep({ include: { host: ['*.example.com'] } }, ev({}))).toBe(false); // no name: a name glob cannot match
  });

  it('ORs the values of one flag and ANDs across flags', () => {
    const spec: FilterSpec = { include: { agent: ['a', 'b'], verdict: ['denied'], port: ['443', '8000-8100'] } };
    expect(keep(spec, ev({ agent: 'a' }))).toBe(true);
    expect(keep(spec, ev({ agent: 'b', dst_port: 8080 }))).toBe(true);
    expect(keep(spec, ev({ agent: 'c' }))).toBe(false);
    expect(keep(spec, ev({ agent: 'a', verdict: 'ALLOWED' }))).toBe(false);
    expect(keep(spec, ev({ agent: 'a', dst_port: 80 }))).toBe(false);
  });

  it('excludes each negated value on its own, and never on a missing field', () => {
    const spec: FilterSpec = { exclude: { agent: ['a'], port: ['53'] } };
    expect(keep(spec, ev({ agent: 'a' }))).toBe(false);
    expect(keep(spec, ev({ agent: 'b', dst_port: 53 }))).toBe(false);
    expect(keep(spec, ev({ agent: 'b' }))).toBe(true);
    const { agent: _, ...unattributed } = ev({ attribution: 'unknown' });
    expect(keep(spec, unattributed as EgressEvent)).toBe(true);
    expect(keep({ include: { agent: ['a'] } }, unattributed as EgressEvent)).toBe(false);
    // wanted and unwanted values of one flag: the unwanted one wins
    expect(keep({ include: { agent: ['a', 'b'] }, exclude: { agent: ['a'] } }, ev({ agent: 'a' }))).toBe(false);
  });

  it('matches every field it offers', () => {
    const e = ev({ rule_id: 4097, reason: 'rule', l4_proto: 'udp', node: 'n1', container_id: 'ABCDEF0123456789', container_name: '/web-1' });
    const yes: FilterSpec['include'][] = [
      { rule: ['4097'] },
      { reason: ['RULE'] },
      { proto: ['UDP'] },
      { node: ['n1'] },
      { container: ['abcdef01'] },
      { container: ['web-1'] },
      { container: ['/web-1'] },
      { project: ['p'] },
    ];
    for (const include of yes) expect(keep({ include }, e), JSON.stringify(include)).toBe(true);
    const no: FilterSpec['include'][] = [{ rule: ['4096'] }, { reason: ['default'] }, { proto: ['tcp'] }, { node: ['n'] }, { container: ['bcdef'] }, { project: ['P'] }];
    for (const include of no) expect(keep({ include }, e), JSON.stringify(include)).toBe(false);
  });

  it('bounds the time inclusively', () => {
    const t = Date.parse('2026-11-23T12:00:00Z');
    expect(keep({ since: '2026-11-23T12:00:00Z', until: '2026-11-23T12:00:00Z' }, ev({}))).toBe(true);
    expect(compileFilter(buildFilter({ since: '1m' }, t + 61_000))(ev({}))).toBe(false);
    expect(compileFilter(buildFilter({ until: '1m' }, t + 61_000))(ev({}))).toBe(true);
  });

  it('parses durations and ISO times, naming the flag when it cannot', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(parseSince('15m', now)).toBe(now - 15 * 60_000);
    expect(parseTime('--until', '1h30m', now)).toBe(now - 90 * 60_000);
    expect(parseSince('2026-11-23T11:00:00Z', now)).toBe(now - 3_600_000);
    expect(() => parseSince('yesterday', now)).toThrow(/--since "yesterday"/);
    expect(() => parseTime('--until', '1', now)).toThrow(/--until "1"/);
    expect(() => parseTime('--until', '15x', now)).toThrow(/--until "15x"/);
    expect(() => buildFilter({ since: '1m', until: '1h' }, now)).toThrow(/--since .* is after --until/);
  });

  it('refuses bad values naming the flag', () => {
    const cases: Array<[Parameters<typeof parseTerm>[0], string, RegExp]> = [
      ['verdict', 'maybe', /--verdict "maybe": expected one of ALLOWED, DENIED, BYPASSED/],
      ['port', '70000', /--port "70000"/],
      ['port', '80-20', /--port "80-20"/],
      ['port', 'https', /--port "https"/],
      ['rule', '-1', /--rule "-1"/],
      ['rule', '1.5', /--rule "1.5"/],
      ['reason', 'whim', /--reason "whim": expected one of rule, host/],
      ['proto', 'sctpx', /--proto "sctpx"/],
      ['proto', '300', /--proto "300"/],
      ['host', 'a b', /--host "a b"/],
      ['agent', '', /--agent "": expected a value/],
    ];
    for (const [field, raw, re] of cases) expect(() => parseTerm(field, raw)).toThrow(re);
    expect(parseTerm('proto', '132')).toEqual({ field: 'proto', value: '132' });
  });
});
