import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy, type PolicyError } from './policy-parse.ts';

const GOOD = `version: 1
default: { mode: enforce }
policies:
  - name: web-agents
    match: { project: demo }
    mode: enforce
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { host: "*.githubusercontent.com", ports: [443] }
        - { host: "**.npmjs.org", ports: [443] }
        - { cidr: 10.20.0.0/16, ports: ["5432", "8000-8100"], proto: tcp }
`;

function errorsOf(text: string, opts = {}): PolicyError[] {
  const r = parsePolicy(text, { file: 'p.yaml', ...opts });
  if (r.ok) throw new Error('expected the document to be rejected');
  return r.errors;
}

describe('parsePolicy', () => {
  it('accepts the DESIGN.md example and normalises it', () => {
    const r = parsePolicy(GOOD, { file: 'p.yaml' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.document.policies[0]!;
    expect(p.resolvers).toEqual(['127.0.0.11']);
    expect(p.egress.allow).toHaveLength(4);
    expect(p.egress.allow[1]).toMatchObject({ host: { kind: 'one', base: 'githubusercontent.com' }, proto: 'tcp' });
    expect(p.egress.allow[3]).toMatchObject({
      cidr: { family: 4, prefix: 16, text: '10.20.0.0/16' },
      ports: [{ from: 5432, to: 5432 }, { from: 8000, to: 8100 }],
    });
  });

  it('reports every error with file, YAML path, line:column and reason', () => {
    const text = `version: 1
policies:
  - name: a
    match: { project: demo }
    egress:
      allow:
        - { host: api.github.com, ports: [443, 70000] }
        - { cidr: 10.20.0.1/16, ports: [443] }
        - { host: x.org, port: [443] }
  - name: b
    match: {}
`;
    const errs = errorsOf(text).map(formatPolicyError);
    expect(errs).toEqual([
      'p.yaml:7:48: policies[0].egress.allow[0].ports[1]: port 70000 is out of range 1-65535',
      'p.yaml:8:19: policies[0].egress.allow[1].cidr: "10.20.0.1/16" has host bits set (did you mean 10.20.0.0/16?)',
      // The missing ports are reported on the rule that lacks them.
      'p.yaml:9:11: policies[0].egress.allow[2].ports: missing required field "ports"',
      'p.yaml:9:26: policies[0].egress.allow[2].port: unknown field "port"',
      expect.stringMatching(/^p\.yaml:11:12: policies\[1\]\.match: empty selector/),
    ]);
  });

  it('rejects bad CIDRs precisely', () => {
    for (const [cidr, reason] of [
      ['10.0.0.0/33', /prefix \/33 is longer than 32 bits/],
      ['10.0.0/8', /not an IPv4 or IPv6 address/],
      ['2001:db8::1/32', /host bits set \(did you mean 2001:db8::\/32\?\)/],
      ['::ffff:10.0.0.0/104', /IPv4-mapped/],
      ['10.0.0.0', /not a CIDR/],
    ] as const) {
      const errs = errorsOf(`version: 1\npolicies:\n  - name: a\n    match: { agent: x }\n    egress: { allow: [ { cidr: "${cidr}", ports: [1] } ] }\n`);
      expect(errs).toHaveLength(1);
      expect(errs[0]!.path).toBe('policies[0].egress.allow[0].cidr');
      expect(errs[0]!.line).toBe(5);
      expect(errs[0]!.reason).toMatch(reason);
    }
  });

  it('rejects bad host patterns and port ranges', () => {
    const errs = errorsOf(`version: 1
policies:
  - name: a
    match: { agent: x }
    egress:
      allow:
        - { host: "*.com", ports: [443] }
        - { host: "a.*.com", ports: [443] }
        - { host: "10.1.2.3", ports: [443] }
        - { host: ok.example, ports: ["90-80", "0", "http"] }
        - { host: ok.example, ports: [] }
        - { cidr: 10.0.0.0/8, host: a.b, ports: [1] }
`);
    expect(errs.map((e) => [e.path, e.line])).toEqual([
      ['policies[0].egress.allow[0].host', 7],
      ['policies[0].egress.allow[1].host', 8],
      ['policies[0].egress.allow[2].host', 9],
      ['policies[0].egress.allow[3].ports[0]', 10],
      ['policies[0].egress.allow[3].ports[1]', 10],
      ['policies[0].egress.allow[3].ports[2]', 10],
      ['policies[0].egress.allow[4].ports', 11],
      ['policies[0].egress.allow[5]', 12],
    ]);
    expect(errs[0]!.reason).toMatch(/at least two labels/);
    expect(errs[2]!.reason).toMatch(/use cidr: 10\.1\.2\.3\/32/);
    expect(errs[3]!.reason).toMatch(/reversed/);
    expect(errs[7]!.reason).toMatch(/exactly one of host: or cidr:/);
  });

  it('rejects duplicate names and identical selectors, pointing at the second', () => {
    const errs = errorsOf(`version: 1
policies:
  - { name: a, match: { project: p } }
  - { name: a, match: { project: q } }
  - { name: c, match: { project: p } }
`);
    expect(errs.map(formatPolicyError)).toEqual([
      'p.yaml:4:13: policies[1].name: duplicate policy name "a" (first at policies[0])',
      'p.yaml:5:23: policies[2].match: same selector as policies[0]: which one applies would be ambiguous',
    ]);
  });

  it('rejects a document over the size limit before parsing it', () => {
    const big = GOOD + `# ${'x'.repeat(10 * 1024 * 1024)}\n`;
    const errs = errorsOf(big);
    expect(errs).toEqual([
      { file: 'p.yaml', path: '(document)', line: 1, column: 1, reason: expect.stringMatching(/over the 1048576-byte limit/) },
    ]);
    expect(errorsOf(GOOD, { maxBytes: 100 })[0]!.reason).toMatch(/over the 100-byte limit/);
  });

  it('refuses a YAML alias bomb', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'.split('').map((c, i) => {
        const prev = 'abcdefghi'[i]!;
        return `${c}: &${c} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
      }),
      'version: 1',
    ].join('\n');
    const errs = errorsOf(bomb);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.reason).toMatch(/alias bomb/);
    expect(errs[0]!.line).toBe(2);
  });

  it('reports YAML syntax errors and duplicate keys with positions', () => {
    const errs = errorsOf('version: 1\nversion: 1\npolicies: [\n');
    expect(errs.length).toBeGreaterThanOrEqual(2);
    expect(errs[0]).toMatchObject({ path: '(syntax)', line: 2, column: 1 });
    expect(errs[0]!.reason).toMatch(/unique/i);
  });

  it('rejects unknown top-level fields, a wrong version and empty input', () => {
    const errs = errorsOf('version: 2\npolicy: []\n');
    expect(errs.map((e) => `${e.path} ${e.line}:${e.column} ${e.reason}`)).toEqual([
      'version 1:10 version must be 1',
      'policy 2:1 unknown field "policy"',
    ]);
    expect(errorsOf('')[0]!.reason).toMatch(/empty/);
    expect(errorsOf('version: 1\n---\nversion: 1\n')[0]!.reason).toMatch(/more than one YAML document/);
  });

  it('keeps positions through aliases (errors point at the anchor)', () => {
    const errs = errorsOf(`version: 1
x-ports: &web [443, 99999]
policies:
  - name: a
    match: { agent: x }
    egress: { allow: [ { host: a.example, ports: *web } ] }
`);
    // x-ports is an unknown field too; both are reported.
    expect(errs.map((e) => `${e.path} ${e.line}:${e.column}`)).toEqual([
      'x-ports 2:1',
      'policies[0].egress.allow[0].ports[1] 2:21',
    ]);
  });
});

describe('kernel limits checked at validation', () => {
  it('rejects a CIDR whose LPM entry would carry more than 16 port ranges', () => {
    const many = Array.from({ length: 10 }, (_, i) => 1000 + i).join(', ');
    const errs = errorsOf(`version: 1
policies:
  - name: a
    match: { agent: x }
    egress:
      allow:
        - { cidr: 10.0.0.0/8, ports: [${many}] }
        - { cidr: 10.1.0.0/16, ports: [${many}] }
        - { cidr: 192.168.0.0/16, ports: [${many}] }
`);
    // 10.1/16 inherits 10/8's ranges: 20 > 16; the others fit.
    expect(errs.map((e) => e.path)).toEqual(['policies[0].egress.allow[1].ports']);
    expect(errs[0]!.reason).toMatch(/20 port ranges apply to this CIDR/);
  });
});
