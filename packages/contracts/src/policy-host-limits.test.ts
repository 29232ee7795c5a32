// The kernel's host-rule limits and the document-level flow timeouts, checked at validation so a
// valid document never fails in `sluice-bpf apply` (and errors point at the line).
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy } from './policy-parse.ts';

const doc = (allow: string[], top = '') => `version: 1
${top}policies:
  - name: a
    match: { project: demo }
    resolvers: [127.0.0.11]
    egress:
      allow:
${allow.map((r) => `        - ${r}`).join('\n')}
`;

const errors = (text: string) => {
  const r = parsePolicy(text, { file: 'p.yaml' });
  return r.ok ? [] : r.errors.map(formatPolicyError);
};

describe('host rule limits', () => {
  it('accepts a **. base of 8 labels and refuses 9, naming the line', () => {
    expect(errors(doc(['{ host: "**.a.b.c.d.e.f.g.h", ports: [443] }']))).toEqual([]);
    expect(errors(doc(['{ host: "**.a.b.c.d.e.f.g.h.i", ports: [443] }']))).toEqual([
      'p.yaml:8:19: policies[0].egress.allow[0].host: "**.a.b.c.d.e.f.g.h.i": a "**." base has at most 8 labels (the kernel keeps that many suffixes of a name), this one has 9',
    ]);
  });

  it('counts port ranges of every rule naming the same pattern (the kernel merges them into one entry)', () => {
    const ten = `[${Array.from({ length: 10 }, (_, i) => 1000 + i).join(', ')}]`;
    const six = `[${Array.from({ length: 6 }, (_, i) => 2000 + i).join(', ')}]`;
    expect(errors(doc([`{ host: "*.x.test", ports: ${ten} }`, `{ host: "*.X.test.", ports: ${six} }`]))).toEqual([]);
    const errs = errors(doc([`{ host: "*.x.test", ports: ${ten} }`, `{ host: "*.X.test.", ports: ${six}, proto: udp }`, '{ host: "*.x.test", ports: [9] }']));
    expect(errs).toHaveLength(3);
    expect(errs[0]).toMatch(/^p\.yaml:8:\d+: policies\[0\]\.egress\.allow\[0\]\.ports: 17 port ranges name "\*\.x\.test"/);
    expect(errs[2]).toMatch(/^p\.yaml:10:\d+: policies\[0\]\.egress\.allow\[2\]\.ports: 17 port ranges/);
    // Different patterns have different entries: no limit shared.
    expect(errors(doc([`{ host: "*.x.test", ports: ${ten} }`, `{ host: "**.x.test", ports: ${ten} }`]))).toEqual([]);
  });

  it('refuses characters the kernel does not hash', () => {
    expect(errors(doc(['{ host: "exa mple.test", ports: [443] }']))[0]).toMatch(/p\.yaml:8:\d+: .*label "exa mple" is not a valid DNS label/);
  });
});

describe('flows', () => {
  it('parses durations with units', () => {
    const r = parsePolicy(doc(['{ host: api.x.test, ports: [443] }'], 'flows: { active_timeout: 5m, udp_idle: 500ms }\n'));
    expect(r.ok && r.document.flows).toEqual({ active_timeout: 300_000, udp_idle: 500 });
  });

  it('refuses a duration without a unit, zero, an unknown key, with the line', () => {
    expect(errors(doc(['{ host: api.x.test, ports: [443] }'], 'flows: { active_timeout: 300, udp_idle: 0s, udp: 1s }\n'))).toEqual([
      'p.yaml:2:26: flows.active_timeout: a duration string with a unit (500ms, 10s, 5m, 1h)',
      'p.yaml:2:41: flows.udp_idle: "0s" is out of range (1ms to 4294967295ms)',
      'p.yaml:2:45: flows.udp: unknown field "udp"',
    ]);
  });
});
