import { describe, expect, it } from 'vitest';
import { parseHostPattern, type HostPattern } from '@sluice/contracts';
import { checkPolicy } from './lint.ts';
import { coversAllPorts, publicSuffixOf } from './breadth.ts';
import { patternCovers, portsCover } from './overlap.ts';
import { resolverFinding } from './resolvers.ts';
import { formatFinding, type Finding } from './finding.ts';

const doc = (allow: string, extra = '') => `version: 1
policies:
  - name: p
    match: { project: demo }
    resolvers: [127.0.0.11]${extra}
    egress:
      allow:
${allow}`;

function findings(text: string): Finding[] {
  const r = checkPolicy(text, { file: 'p.yaml' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.reason).join('; '));
  return r.findings;
}
const codes = (text: string) => findings(text).map((f) => `${f.line}:${f.column} ${f.severity} ${f.code}`);
const host = (s: string) => parseHostPattern(s) as HostPattern;

describe('breadth', () => {
  it('knows public suffixes from both PSL sections, and wildcard PSL rules', () => {
    expect(publicSuffixOf('co.uk')).toEqual({ section: 'ICANN', suffix: 'co.uk' });
    expect(publicSuffixOf('github.io')).toEqual({ section: 'PRIVATE', suffix: 'github.io' });
    expect(publicSuffixOf('compute.amazonaws.com')?.section).toBe('PRIVATE');
    expect(publicSuffixOf('npmjs.org')).toBeUndefined();
    expect(publicSuffixOf('corp.internal')).toBeUndefined();
  });

  it('flags a wildcard over a public or shared-hosting suffix at the host value', () => {
    const f = findings(doc('        - { host: "*.co.uk", ports: [443] }\n        - { host: "**.github.io", ports: [443] }\n        - { host: "**.npmjs.org", ports: [443] }\n'));
    expect(f.map(formatFinding)).toEqual([
      expect.stringMatching(/^p\.yaml:8:19: high broad-wildcard: "\*\.co\.uk": "co\.uk" is a public suffix \(ICANN/),
      expect.stringMatching(/^p\.yaml:9:19: high broad-wildcard: "\*\*\.github\.io": "github\.io" is a shared-hosting suffix \(PRIVATE/),
    ]);
  });

  it('flags rules open to the world and all ports', () => {
    expect(codes(doc('        - { cidr: 0.0.0.0/0, ports: ["1-65535"], proto: any }\n        - { cidr: "::/0", ports: [443] }\n'))).toEqual([
      '8:19 high open-cidr',
      '8:37 medium all-ports',
      '9:19 high open-cidr',
    ]);
    expect(coversAllPorts([{ from: 1, to: 1000 }, { from: 1001, to: 65535 }])).toBe(true);
    expect(coversAllPorts([{ from: 1, to: 1000 }, { from: 1002, to: 65535 }])).toBe(false);
  });
});

describe('overlap', () => {
  it('finds duplicates across case and trailing dot, reported on the later copy', () => {
    const f = findings(doc('        - { host: api.github.com, ports: [443] }\n        - { host: API.GitHub.com., ports: [443] }\n'));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ line: 9, column: 19, code: 'duplicate-rule', severity: 'medium', path: 'policies[0].egress.allow[1].host' });
    expect(f[0]!.message).toMatch(/egress\.allow\[0\]/);
  });

  it('finds hosts under a ** rule and CIDRs inside another, only when ports and proto are covered', () => {
    expect(
      codes(
        doc(
          [
            '        - { host: "**.npmjs.org", ports: [443, 80] }',
            '        - { host: registry.npmjs.org, ports: [443] }',
            '        - { host: a.b.npmjs.org, ports: [8443] }',
            '        - { cidr: 10.0.0.0/8, ports: ["1-1024"], proto: any }',
            '        - { cidr: 10.1.0.0/16, ports: [443], proto: udp }',
            '        - { cidr: 10.2.0.0/16, ports: [2000] }',
            '',
          ].join('\n'),
        ),
      ),
    ).toEqual(['9:19 low shadowed-rule', '12:19 low shadowed-rule']);
  });

  it('compares patterns by what they match', () => {
    expect(patternCovers(host('**.b.c'), host('*.b.c'))).toBe(true);
    expect(patternCovers(host('**.b.c'), host('**.x.b.c'))).toBe(true);
    expect(patternCovers(host('**.b.c'), host('b.c'))).toBe(false);
    expect(patternCovers(host('*.b.c'), host('x.b.c'))).toBe(true);
    expect(patternCovers(host('*.b.c'), host('y.x.b.c'))).toBe(false);
    expect(patternCovers(host('*.b.c'), host('**.b.c'))).toBe(false);
    expect(patternCovers(host('**.b.c'), host('xb.c'))).toBe(false);
    expect(portsCover([{ from: 1, to: 10 }, { from: 11, to: 20 }], [{ from: 5, to: 15 }])).toBe(true);
    expect(portsCover([{ from: 1, to: 10 }, { from: 12, to: 20 }], [{ from: 5, to: 15 }])).toBe(false);
  });
});

describe('resolvers', () => {
  it('flags an enforce policy with host rules and no resolver, not a learn one', () => {
    const text = (mode: string) => `version: 1\npolicies:\n  - name: p\n    match: { project: demo }\n    mode: ${mode}\n    egress: { allow: [{ host: x.example.com, ports: [443] }] }\n`;
    expect(codes(text('enforce'))).toEqual(['3:11 medium no-resolver']);
    expect(codes(text('learn'))).toEqual([]);
  });

  it('flags addresses no answer can come from', () => {
    for (const a of ['0.0.0.0', '224.0.0.251', '255.255.255.255', '::', 'ff02::fb', '192.0.2.53']) expect(resolverFinding(a)?.severity, a).toBe('medium');
    expect(resolverFinding('10.0.0.0')?.severity).toBe('low');
    for (const a of ['127.0.0.11', '10.0.0.2', '169.254.169.253', '2001:4860:4860::8888']) expect(resolverFinding(a), a).toBeUndefined();
    expect(codes(doc('        - { host: x.example.com, ports: [443] }\n').replace('[127.0.0.11]', '[127.0.0.11, 0.0.0.0]'))).toEqual(['5:29 medium unreachable-resolver']);
  });
});

describe('acknowledgement', () => {
  it('silences the named finding on that rule or policy only, and reports acks that silence nothing', () => {
    const text = doc(
      [
        '        - { host: "**.github.io", ports: [443], ack: [broad-wildcard] }',
        '        - { cidr: 0.0.0.0/0, ports: ["1-65535"], ack: [open-cidr] }',
        '        - { host: api.example.com, ports: [443], ack: [duplicate-rule] }',
        '',
      ].join('\n'),
      '\n    ack: [unreachable-resolver]',
    );
    expect(codes(text)).toEqual(['6:10 low unused-ack', '10:37 medium all-ports', '11:55 low unused-ack']);
  });

  it('refuses an ack code that is not a finding, or one acknowledged at the wrong level', () => {
    const r = checkPolicy(doc('        - { host: a.example.com, ports: [443], ack: [broad-wildcrd, no-resolver] }\n'), { file: 'p.yaml' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual(['8:54 policies[0].egress.allow[0].ack[0]', '8:69 policies[0].egress.allow[0].ack[1]']);
    expect(r.errors[0]!.reason).toMatch(/not a finding that can be acknowledged on a rule/);
  });
});
