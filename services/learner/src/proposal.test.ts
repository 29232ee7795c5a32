import { parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { describe, expect, it } from 'vitest';
import { compareIp, narrowestCidr, newPolicyName, propose, renderProposal } from './proposal.ts';
import type { AggregatedAddress, AggregatedDestination } from './store.ts';

function policy(yaml: string): PolicyDocument {
  const r = parsePolicy(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
}

const DOC = policy(`
version: 1
policies:
  - name: demo
    match: { project: demo }
    mode: learn
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { host: old.example.org, ports: [443] }
        - { cidr: 10.20.0.0/16, ports: [5432] }
        - { cidr: 192.0.2.0/24, ports: [80] }
`);

let t = 1_000;
function dest(target: string, port: number, over: Partial<AggregatedDestination> = {}): AggregatedDestination {
  const isIp = /^[\d.]+$|:/.test(target);
  return {
    ...(isIp ? { ip: target } : { host: target }),
    port,
    proto: 'tcp',
    learned: 1,
    allowed: 0,
    first_ms: t,
    last_ms: t++,
    agents: ['a1'],
    ...over,
  };
}
const addr = (ip: string, port: number, count = 1): AggregatedAddress => ({ ip, port, proto: 'tcp', count });

describe('propose', () => {
  it('lists every learned host once, with all its ports, sorted', () => {
    const p = propose(DOC, { project: 'demo' }, [
      dest('pypi.org', 443),
      dest('files.example.net', 8443),
      dest('files.example.net', 443, { learned: 3 }),
      dest('pypi.org', 443, { proto: 'udp' }),
    ], []);
    expect(p.policy).toBe('demo');
    expect(p.created).toBe(false);
    expect(p.additions.map((a) => [a.host, a.proto, a.ports, a.seen])).toEqual([
      ['files.example.net', 'tcp', [443, 8443], 4],
      ['pypi.org', 'tcp', [443], 1],
      ['pypi.org', 'udp', [443], 1],
    ]);
  });

  it('flags IP-only destinations with the narrowest CIDR and puts them after names', () => {
    const p = propose(DOC, { project: 'demo' }, [dest('203.0.113.9', 8080), dest('2001:db8::7', 443), dest('a.test', 443)], []);
    expect(p.additions.map((a) => [a.host ?? a.cidr, a.note])).toEqual([
      ['a.test', undefined],
      ['203.0.113.9/32', 'no DNS name seen'],
      ['2001:db8::7/128', 'no DNS name seen'],
    ]);
  });

  it('leaves out what the current policy already allows (host pattern, port and proto; CIDR)', () => {
    const p = propose(DOC, { project: 'demo' }, [
      dest('api.github.com', 443),
      dest('api.github.com', 22),
      dest('10.20.3.4', 5432),
      dest('10.20.3.4', 5433),
    ], []);
    expect(p.additions.map((a) => [a.host ?? a.cidr, a.ports])).toEqual([
      ['api.github.com', [22]],
      ['10.20.3.4/32', [5433]],
    ]);
  });

  it('ignores destinations that were only allowed (no learn-class attempts)', () => {
    const p = propose(DOC, { project: 'demo' }, [dest('x.example.com', 443, { learned: 0, allowed: 5 })], []);
    expect(p.additions).toEqual([]);
  });

  it('suggests a wildcard for sibling names, listing members, without widening the additions', () => {
    const p = propose(DOC, { project: 'demo' }, [
      dest('a.cdn.example.com', 443),
      dest('b.example.com', 443),
      dest('c.example.com', 8443),
      dest('solo.other.org', 443),
    ], []);
    expect(p.additions.map((a) => a.host)).toEqual(['a.cdn.example.com', 'b.example.com', 'c.example.com', 'solo.other.org']);
    expect(p.suggestions).toEqual([
      expect.objectContaining({ host: '**.example.com', ports: [443, 8443], members: ['a.cdn.example.com', 'b.example.com', 'c.example.com'] }),
    ]);
  });

  it('uses *. when every member is one label below the domain', () => {
    const p = propose(undefined, { project: 'x' }, [dest('a.example.com', 443), dest('b.example.com', 443)], []);
    expect(p.suggestions.map((s) => s.host)).toEqual(['*.example.com']);
  });

  it('never groups names across a private public suffix (different owners)', () => {
    const p = propose(undefined, { project: 'x' }, [dest('alice.s3.amazonaws.com', 443), dest('bob.s3.amazonaws.com', 443)], []);
    expect(p.suggestions).toEqual([]);
  });

  it('respects the public suffix list (example.co.uk is one registrable domain)', () => {
    const p = propose(undefined, { project: 'x' }, [dest('a.example.co.uk', 443), dest('b.example.co.uk', 443), dest('other.co.uk', 443)], []);
    expect(p.suggestions.map((s) => [s.host, s.members])).toEqual([['*.example.co.uk', ['a.example.co.uk', 'b.example.co.uk']]]);
  });

  it('does not suggest for a single name or the apex alone', () => {
    const p = propose(undefined, { project: 'x' }, [dest('example.com', 443), dest('www.example.com', 443)], []);
    expect(p.suggestions).toEqual([]);
  });

  it('lists rules unused during the window for pruning, host rules by name and CIDR rules by address', () => {
    const p = propose(
      DOC,
      { project: 'demo' },
      [dest('api.github.com', 443, { learned: 0, allowed: 2 })],
      [addr('10.20.1.1', 5432), addr('192.0.2.5', 81)],
    );
    expect(p.prune.map((x) => x.rule)).toEqual(['old.example.org tcp 443', '192.0.2.0/24 tcp 80']);
  });

  it('proposes a new policy named after the selector when none governs the workloads', () => {
    const p = propose(DOC, { project: 'Other Proj', agent: 'bot.1' }, [dest('a.test', 443)], []);
    expect(p.created).toBe(true);
    expect(p.policy).toBe('learned-other-proj-bot-1');
    expect(p.prune).toEqual([]);
  });

  it('picks the policy that wins for an agent session (agent-specific over project)', () => {
    const doc = policy(`
version: 1
policies:
  - { name: proj, match: { project: demo } }
  - { name: bot, match: { project: demo, agent: bot }, egress: { allow: [{ host: a.test, ports: [443] }] } }
`);
    const p = propose(doc, { project: 'demo', agent: 'bot' }, [dest('a.test', 443), dest('b.test', 443)], []);
    expect(p.policy).toBe('bot');
    expect(p.additions.map((a) => a.host)).toEqual(['b.test']);
  });

  it('skips protocols a rule cannot express, saying why', () => {
    const p = propose(undefined, { project: 'x' }, [dest('a.test', 1, { proto: 'icmp' })], []);
    expect(p.additions).toEqual([]);
    expect(p.skipped).toEqual([{ destination: 'a.test icmp/1', reason: expect.stringContaining('tcp or udp only') }]);
  });

  it('proposes IP-only DNS destinations as resolvers, not as port-53 rules', () => {
    const doc = policy(`
version: 1
policies:
  - { name: p, match: { project: x }, resolvers: [10.0.0.2] }
`);
    const p = propose(doc, { project: 'x' }, [dest('127.0.0.11', 53, { proto: 'udp' }), dest('10.0.0.2', 53, { proto: 'udp' }), dest('a.test', 443)], [], {
      answered: [{ ip: '127.0.0.11', answered: 2 }, { ip: '10.0.0.2', answered: 1 }],
    });
    expect(p.resolvers).toEqual(['127.0.0.11']);
    expect(p.additions.map((a) => a.host ?? a.cidr)).toEqual(['a.test']);
    expect(renderProposal(p)).toContain('resolvers: [127.0.0.11]');
  });

  it('merges agents across ports of one host', () => {
    const p = propose(undefined, { project: 'x' }, [dest('a.test', 443, { agents: ['b', 'a'] }), dest('a.test', 80, { agents: ['c'] })], []);
    expect(p.additions[0]!.agents).toEqual(['a', 'b', 'c']);
  });
});

describe('renderProposal', () => {
  const traffic = [
    dest('pypi.org', 443),
    dest('files.pythonhosted.org', 443),
    dest('a.example.com', 443),
    dest('b.example.com', 80),
    dest('b.example.com', 443),
    dest('198.51.100.4', 9000),
  ];

  it('is byte-identical whatever the input order', () => {
    const a = renderProposal(propose(DOC, { project: 'demo' }, traffic, []));
    const b = renderProposal(propose(DOC, { project: 'demo' }, [...traffic].reverse(), []));
    expect(b).toBe(a);
  });

  it('renders the diff as readable YAML', () => {
    const text = renderProposal(propose(DOC, { project: 'demo' }, traffic, [addr('10.20.0.1', 5432)]));
    expect(text).toMatchInlineSnapshot(`
      "project: demo
      policy: demo
      add:
        - host: a.example.com
          ports: [443]
          proto: tcp
          seen: 1
          agents: [a1]
        - host: b.example.com
          ports: [80, 443]
          proto: tcp
          seen: 2
          agents: [a1]
        - host: files.pythonhosted.org
          ports: [443]
          proto: tcp
          seen: 1
          agents: [a1]
        - host: pypi.org
          ports: [443]
          proto: tcp
          seen: 1
          agents: [a1]
        - cidr: 198.51.100.4/32
          ports: [9000]
          proto: tcp
          note: no DNS name seen
          seen: 1
          agents: [a1]
      suggest:
        - host: "*.example.com"
          ports: [80, 443]
          proto: tcp
          members: [a.example.com, b.example.com]
          note: "suggestion only: 2 names under example.com were seen; accept adds the exact names unless told to use this wildcard"
          opens: every name one label below example.com on tcp 80,443, not only the 2 seen
      prune:
        - rule: api.github.com tcp 443
          index: 0
          note: unused during the learn window
        - rule: old.example.org tcp 443
          index: 1
          note: unused during the learn window
        - rule: 192.0.2.0/24 tcp 80
          index: 3
          note: unused during the learn window
      proof:
        accept: "after accepting: 0 of 6 would-deny attempts (6 destinations) would still be denied"
        enforce: "after accepting with --enforce: 5 of 6 would-deny attempts (6 destinations) would still be denied"
        enforce_would_deny:
          - a1 -> a.example.com:443/tcp DENIED
          - a1 -> b.example.com:80/tcp DENIED
          - a1 -> b.example.com:443/tcp DENIED
          - a1 -> files.pythonhosted.org:443/tcp DENIED
          - a1 -> pypi.org:443/tcp DENIED
        hint: "policy demo lists no resolvers: in enforce mode the kernel trusts no DNS answer, so no host rule matches; add the agents' DNS server (e.g. resolvers: [127.0.0.11] for Docker's embedded DNS) and accept again"
      "
    `);
  });
});

describe('helpers', () => {
  it('narrowestCidr', () => {
    expect(narrowestCidr('203.0.113.9')).toBe('203.0.113.9/32');
    expect(narrowestCidr('2001:0db8:0:0::7')).toBe('2001:db8::7/128');
    expect(narrowestCidr('::ffff:203.0.113.9')).toBe('203.0.113.9/32');
    expect(narrowestCidr('nope')).toBeUndefined();
  });
  it('compareIp orders numerically, v4 first', () => {
    expect(['10.0.0.10', '2001:db8::1', '10.0.0.9', '9.1.1.1'].sort(compareIp)).toEqual(['9.1.1.1', '10.0.0.9', '10.0.0.10', '2001:db8::1']);
  });
  it('newPolicyName avoids names in use', () => {
    const doc = policy(`
version: 1
policies:
  - { name: learned-demo, match: { project: other } }
`);
    expect(newPolicyName(doc, { project: 'demo' })).toBe('learned-demo-2');
  });
});
