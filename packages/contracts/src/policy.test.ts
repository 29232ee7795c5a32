import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatIp,
  hostMatches,
  ipBytes,
  parseCidr,
  parseHostPattern,
  parsePortItem,
  selectPolicy,
  type HostPattern,
} from './policy.ts';

const host = (s: string) => parseHostPattern(s) as HostPattern;

describe('policy primitives', () => {
  it('match hosts: exact, one label, any depth (never the apex)', () => {
    expect(hostMatches(host('API.GitHub.com.'), 'api.github.com')).toBe(true);
    expect(hostMatches(host('*.githubusercontent.com'), 'raw.githubusercontent.com')).toBe(true);
    expect(hostMatches(host('*.githubusercontent.com'), 'a.b.githubusercontent.com')).toBe(false);
    expect(hostMatches(host('*.githubusercontent.com'), 'githubusercontent.com')).toBe(false);
    expect(hostMatches(host('**.npmjs.org'), 'a.b.c.npmjs.org')).toBe(true);
    expect(hostMatches(host('**.npmjs.org'), 'npmjs.org')).toBe(false);
    expect(hostMatches(host('**.npmjs.org'), 'evilnpmjs.org')).toBe(false);
  });

  it('parse ports and ranges', () => {
    expect(parsePortItem(443)).toEqual({ from: 443, to: 443 });
    expect(parsePortItem('8000-8100')).toEqual({ from: 8000, to: 8100 });
    expect(parsePortItem(70000)).toMatch(/out of range/);
    expect(parsePortItem(1.5)).toMatch(/out of range/);
    expect(parsePortItem('100-')).toMatch(/not a port/);
  });

  it('round-trip IPv6 text through bytes in RFC 5952 form', () => {
    expect(formatIp(ipBytes('2001:0db8:0000:0000:0000:0000:0000:0001')!)).toBe('2001:db8::1');
    expect(formatIp(ipBytes('::')!)).toBe('::');
    expect(formatIp(ipBytes('::ffff:1.2.3.4')!)).toBe('::ffff:102:304');
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const b = ipBytes(ip)!;
        expect(b).toHaveLength(16);
        expect(ipBytes(formatIp(b))).toEqual(b);
      }),
    );
  });

  it('canonicalise CIDRs', () => {
    expect(parseCidr('2001:DB8::/32')).toMatchObject({ family: 6, prefix: 32, text: '2001:db8::/32' });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ family: 4, prefix: 0, bytes: [0, 0, 0, 0] });
  });

  it('select the most specific policy regardless of order', () => {
    const ps = [
      { name: 'proj', match: { project: 'p' } },
      { name: 'both', match: { project: 'p', agent: 'a' } },
      { name: 'agent', match: { agent: 'a' } },
    ];
    expect(selectPolicy(ps, { project: 'p', agent: 'a' })?.name).toBe('both');
    expect(selectPolicy(ps, { project: 'q', agent: 'a' })?.name).toBe('agent');
    expect(selectPolicy(ps, { project: 'p', agent: 'z' })?.name).toBe('proj');
    expect(selectPolicy(ps, { project: 'q' })).toBeUndefined();
    expect(selectPolicy([...ps].reverse(), { project: 'p', agent: 'a' })?.name).toBe('both');
  });
});
