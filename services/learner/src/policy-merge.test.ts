import { parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { mergeProposal } from './policy-merge.ts';
import { propose } from './proposal.ts';
import type { AggregatedDestination } from './store.ts';

const d = (target: string, port: number, proto = 'tcp'): AggregatedDestination => ({
  ...(/^[\d.]+$/.test(target) ? { ip: target } : { host: target }),
  port,
  proto,
  learned: 1,
  allowed: 0,
  first_ms: 1,
  last_ms: 1,
  agents: ['a'],
});

const CURRENT = `# team policy — keep this comment
version: 1
policies:
  - name: demo
    match: { project: demo }
    mode: learn
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
`;

const doc = (y: string): PolicyDocument => {
  const r = parsePolicy(y);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
};

describe('mergeProposal', () => {
  const traffic = [d('a.example.com', 443), d('b.example.com', 443), d('203.0.113.5', 8080), d('127.0.0.11', 53, 'udp')];

  it('appends the additions to the governing policy, keeps comments, and validates', () => {
    const p = propose(doc(CURRENT), { project: 'demo' }, traffic, [], { answered: [{ ip: '127.0.0.11', answered: 3 }] });
    const m = mergeProposal(CURRENT, p, { enforce: true });
    expect(m.yaml).toContain('# team policy — keep this comment');
    const pol = m.document.policies[0]!;
    expect(pol.mode).toBe('enforce');
    expect(pol.resolvers).toEqual(['127.0.0.11']);
    expect(pol.egress.allow.map((r) => ('host' in r ? r.host.text : r.cidr.text))).toEqual([
      'api.github.com',
      'a.example.com',
      'b.example.com',
      '203.0.113.5/32',
    ]);
    expect(m.added).toEqual(['a.example.com tcp 443', 'b.example.com tcp 443', '203.0.113.5/32 tcp 8080', 'resolver 127.0.0.11']);
  });

  it('accepts a wildcard suggestion only when asked, replacing its members', () => {
    const p = propose(doc(CURRENT), { project: 'demo' }, traffic, []);
    const m = mergeProposal(CURRENT, p, { wildcards: ['*.example.com'] });
    const hosts = m.document.policies[0]!.egress.allow.map((r) => ('host' in r ? r.host.text : r.cidr.text));
    expect(hosts).toEqual(['api.github.com', '203.0.113.5/32', '*.example.com']);
    expect(m.document.policies[0]!.mode).toBe('learn');
    expect(() => mergeProposal(CURRENT, p, { wildcards: ['**.nope.com'] })).toThrow(/not one of the proposal's suggestions/);
  });

  it('creates a policy for the selector when none exists, and a document when there is none', () => {
    const p = propose(undefined, { project: 'fresh', agent: 'bot' }, [d('pypi.org', 443)], []);
    const m = mergeProposal(undefined, p, { enforce: true });
    expect(m.document.policies).toHaveLength(1);
    expect(m.document.policies[0]).toMatchObject({ name: 'learned-fresh-bot', match: { project: 'fresh', agent: 'bot' }, mode: 'enforce' });
  });

  it('refuses when the governing policy disappeared since the diff', () => {
    const p = propose(doc(CURRENT), { project: 'demo' }, traffic, []);
    expect(() => mergeProposal('version: 1\npolicies: []\n', p)).toThrow(/no longer in the current document/);
  });
});
