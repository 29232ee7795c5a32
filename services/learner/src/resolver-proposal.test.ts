// Which resolvers a learn proposal lists, with the agent as the adversary: it chooses where its DNS
// goes during learning, so a resolver it picked must never become a listed resolver (open UDP and
// TCP 53 in enforce mode: a direct DNS-tunnel exit) just because it was used.
import { parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { MergeError, mergeProposal } from './policy-merge.ts';
import { replayProof } from './proof.ts';
import { propose, renderProposal } from './proposal.ts';
import type { AggregatedDestination } from './store.ts';

const YAML = `version: 1
policies:
  - name: agents
    match: { project: demo }
    mode: learn
    egress:
      allow: []
`;
const DOC = ((): PolicyDocument => {
  const r = parsePolicy(YAML);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
})();
const sel = { project: 'demo' };

const dest = (target: string, port: number, over: Partial<AggregatedDestination> = {}): AggregatedDestination => ({
  ...(/^[\d.]+$|:/.test(target) ? { ip: target } : { host: target }),
  port,
  proto: 'tcp',
  learned: 1,
  allowed: 0,
  first_ms: 1,
  last_ms: 2,
  agents: ['coder'],
  ...over,
});

describe('resolvers in a learn proposal', () => {
  it("Docker's embedded DNS that answered (a loopback flow, no rule needed for it) becomes the policy's resolver, and the enforce proof holds", () => {
    // Loopback DNS is let through by the loopback allowance, so no destination is learned for it:
    // the answered flow is the only evidence.
    const p = propose(DOC, sel, [dest('api.example.com', 443)], [], { answered: [{ ip: '127.0.0.11', answered: 4 }] });
    expect(p.resolvers).toEqual(['127.0.0.11']);
    expect(p.resolver_suggestions).toEqual([]);
    expect(p.proof.enforce_would_deny).toEqual([]);
    expect(p.proof.hint).toBeUndefined();
    const merged = mergeProposal(YAML, p, { enforce: true });
    expect(merged.document.policies[0]!.resolvers).toEqual(['127.0.0.11']);
    expect(replayProof(merged.document, sel, p.proof.replay)).toEqual([]);
  });

  it('without an answered resolver, the names stay denied in enforce mode and the proof says why', () => {
    const p = propose(DOC, sel, [dest('api.example.com', 443)], []);
    expect(p.resolvers).toEqual([]);
    expect(p.proof.enforce_would_deny.map((m) => m.destination)).toEqual(['api.example.com']);
    expect(p.proof.hint).toMatch(/lists no resolvers/);
  });

  it('attack: port-53 traffic nothing answered is never proposed as a resolver, and is left out of the proof, named', () => {
    const p = propose(DOC, sel, [dest('198.51.100.7', 53, { proto: 'udp', learned: 40 }), dest('api.example.com', 443)], [], {
      answered: [{ ip: '127.0.0.11', answered: 1 }],
    });
    expect(p.resolvers).toEqual(['127.0.0.11']);
    expect(p.resolver_suggestions).toEqual([]);
    expect(p.additions.map((a) => a.host ?? a.cidr)).toEqual(['api.example.com']);
    expect(p.skipped).toEqual([{ destination: '198.51.100.7 udp/53', reason: expect.stringMatching(/no answer seen: not proposed as a resolver/) }]);
    expect(p.proof.replay.map((r) => r.host ?? r.ip)).toEqual(['api.example.com']);
    const merged = mergeProposal(YAML, p, { enforce: true });
    expect(merged.yaml).not.toContain('198.51.100.7');
  });

  it('attack: a remote "resolver" the agent chose and that answered (its own DNS-tunnel exit) is only suggested, flagged high, and not listed unless accepted by name', () => {
    const traffic = [dest('203.0.113.66', 53, { proto: 'udp', learned: 12 }), dest('api.example.com', 443)];
    const p = propose(DOC, sel, traffic, [], { answered: [{ ip: '203.0.113.66', answered: 12 }] });
    expect(p.resolvers).toEqual([]);
    expect(p.resolver_suggestions).toEqual([
      {
        resolver: '203.0.113.66',
        answered: 12,
        note: expect.stringContaining('--resolver 203.0.113.66'),
        findings: [expect.stringMatching(/^remote-resolver: resolver 203\.0\.113\.66 is not on loopback and was chosen by the agent/)],
      },
    ]);
    const rendered = renderProposal(p);
    expect(rendered).toContain('suggest_resolvers:');
    expect(rendered).not.toMatch(/^resolvers:/m);
    // The proof does not hide it: enforce would deny that DNS (and names, with no resolver), and says how to accept on purpose.
    expect(p.proof.enforce_would_deny.map((m) => `${m.destination}:${m.port}`)).toEqual(expect.arrayContaining(['203.0.113.66:53']));
    expect(p.proof.hint).toMatch(/DNS to 203\.0\.113\.66 stays denied: .*--resolver 203\.0\.113\.66/);

    const plain = mergeProposal(YAML, p, { enforce: true });
    expect(plain.document.policies[0]!.resolvers).toEqual([]);
    expect(replayProof(plain.document, sel, p.proof.replay).length).toBeGreaterThan(0); // accept refuses this one
    const onPurpose = mergeProposal(YAML, p, { enforce: true, resolvers: ['203.0.113.66'] });
    expect(onPurpose.document.policies[0]!.resolvers).toEqual(['203.0.113.66']);
    expect(replayProof(onPurpose.document, sel, p.proof.replay)).toEqual([]);
    expect(onPurpose.added).toContain('resolver 203.0.113.66');
  });

  it('attack: accept cannot list a resolver that never answered the session', () => {
    const p = propose(DOC, sel, [dest('api.example.com', 443)], [], { answered: [{ ip: '127.0.0.11', answered: 1 }] });
    expect(() => mergeProposal(YAML, p, { resolvers: ['8.8.8.8'] })).toThrow(MergeError);
    expect(() => mergeProposal(YAML, p, { resolvers: ['8.8.8.8'] })).toThrow(/not one of the proposal's suggested resolvers/);
  });

  it('a non-loopback resolver the operator declared (LEARNER_TRUSTED_RESOLVERS) is proposed like a loopback one', () => {
    const p = propose(DOC, sel, [dest('10.0.0.2', 53, { proto: 'udp' }), dest('api.example.com', 443)], [], {
      answered: [{ ip: '10.0.0.2', answered: 3 }],
      trustedResolvers: ['10.0.0.2'],
    });
    expect(p.resolvers).toEqual(['10.0.0.2']);
    expect(p.resolver_suggestions).toEqual([]);
    expect(p.proof.enforce_would_deny).toEqual([]);
  });

  it('an IPv4-mapped answer counts for the IPv4 resolver; one already listed is not proposed again', () => {
    const listed = parsePolicy(YAML.replace('    mode: learn\n', '    mode: learn\n    resolvers: [127.0.0.11]\n'));
    if (!listed.ok) throw new Error('fixture');
    const p = propose(listed.document, sel, [], [], { answered: [{ ip: '::ffff:127.0.0.11', answered: 1 }, { ip: '::1', answered: 1 }] });
    expect(p.resolvers).toEqual(['::1']);
  });
});
