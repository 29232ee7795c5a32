import { parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { mergeProposal } from './policy-merge.ts';
import { NAME_ONLY_ADDRESS, proofAttempts, replayProof } from './proof.ts';
import { propose, renderProposal } from './proposal.ts';
import type { AggregatedDestination } from './store.ts';

const YAML = `version: 1
policies:
  - name: demo
    match: { project: demo }
    mode: learn
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
`;
function doc(yaml: string): PolicyDocument {
  const r = parsePolicy(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
}

const dest = (target: string, port: number, over: Partial<AggregatedDestination> = {}): AggregatedDestination => ({
  ...(/^[\d.]+$|:/.test(target) ? { ip: target } : { host: target }),
  port,
  proto: 'tcp',
  learned: 2,
  allowed: 0,
  first_ms: 1,
  last_ms: 2,
  agents: ['coder'],
  ...over,
});

const traffic = [
  dest('registry.npmjs.org', 443),
  dest('a.cdn.example.com', 443, { agents: ['coder', 'helper'] }),
  dest('b.cdn.example.com', 443),
  dest('203.0.113.50', 8080, { learned: 1 }),
  dest('10.0.0.2', 53, { proto: 'udp', learned: 5 }),
  dest('api.github.com', 443, { learned: 0, allowed: 4 }),
];

describe('learn proposal proof', () => {
  it('replays every would-deny destination, per agent, and proves the accepted policy allows them all', () => {
    // 10.0.0.2 answered and the operator runs it (LEARNER_TRUSTED_RESOLVERS): proposed as a resolver.
    const p = propose(doc(YAML), { project: 'demo' }, traffic, [], { answered: [{ ip: '10.0.0.2', answered: 5 }], trustedResolvers: ['10.0.0.2'] });
    expect(p.resolvers).toEqual(['10.0.0.2']);
    expect(p.proof).toMatchObject({ destinations: 5, attempts: 12, would_deny: [], enforce_would_deny: [] });
    expect(p.proof.replay.map((r) => `${r.host ?? r.ip}:${r.port}/${r.proto} ${r.agents.join(',')}`)).toEqual([
      '10.0.0.2:53/udp coder',
      '203.0.113.50:8080/tcp coder',
      'a.cdn.example.com:443/tcp coder,helper',
      'b.cdn.example.com:443/tcp coder',
      'registry.npmjs.org:443/tcp coder',
    ]);
    expect(renderProposal(p)).toContain('accept: "after accepting: 0 of 12 would-deny attempts (5 destinations) would still be denied"');
    // The CLI's check: the same attempts against the exact merged YAML accept would apply.
    const merged = mergeProposal(YAML, p, { enforce: true });
    expect(replayProof(merged.document, { project: 'demo' }, p.proof.replay)).toEqual([]);
    const withWildcard = mergeProposal(YAML, p, { enforce: true, wildcards: ['**.example.com'] });
    expect(replayProof(withWildcard.document, { project: 'demo' }, p.proof.replay)).toEqual([]);
  });

  it('fails when an agent is governed by a more specific policy the proposal does not touch', () => {
    const yaml = `${YAML}  - name: helper-only
    match: { project: demo, agent: helper }
    resolvers: [127.0.0.11]
`;
    const p = propose(doc(yaml), { project: 'demo' }, traffic, []);
    expect(p.proof.would_deny).toEqual([{ destination: 'a.cdn.example.com', port: 443, proto: 'tcp', agent: 'helper', outcome: 'DENIED' }]);
    expect(renderProposal(p)).toContain('- helper -> a.cdn.example.com:443/tcp DENIED');
  });

  it('says why enforce would deny names when the policy lists no resolver', () => {
    const p = propose(doc(YAML.replace('    resolvers: [127.0.0.11]\n', '')), { project: 'demo' }, traffic.filter((d) => d.port !== 53), []);
    expect(p.proof.would_deny).toEqual([]);
    expect(p.proof.enforce_would_deny.map((m) => m.destination)).toEqual(['a.cdn.example.com', 'a.cdn.example.com', 'b.cdn.example.com', 'registry.npmjs.org']);
    expect(p.proof.hint).toMatch(/policy demo lists no resolvers/);
    const merged = mergeProposal(YAML.replace('    resolvers: [127.0.0.11]\n', ''), p, { enforce: true });
    expect(replayProof(merged.document, { project: 'demo' }, p.proof.replay)).toHaveLength(4);
  });

  it('a name-only destination is allowed by its name, not by a CIDR over the stand-in address', () => {
    const list = proofAttempts([dest('x.example.org', 443)]);
    const open = doc(`version: 1\npolicies:\n  - name: d\n    match: { project: demo }\n    resolvers: [127.0.0.11]\n    egress: { allow: [{ cidr: 10.0.0.0/8, ports: [443] }] }\n`);
    expect(replayProof(open, { project: 'demo' }, list)).toHaveLength(1);
    expect(NAME_ONLY_ADDRESS).toMatch(/^2001:db8:/);
  });

  it('wildcard suggestions say what they open beyond what was seen', () => {
    const p = propose(doc(YAML), { project: 'demo' }, traffic, []);
    expect(p.suggestions).toEqual([
      expect.objectContaining({ host: '**.example.com', members: ['a.cdn.example.com', 'b.cdn.example.com'], opens: 'every name at any depth below example.com on tcp 443, not only the 2 seen', findings: [] }),
    ]);
  });
});
