import { describe, expect, it } from 'vitest';
import { DnsEvent, EgressEvent, parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { attemptOf, ResolverIndex, simulate, type Attempt } from './simulate.ts';

const doc = (text: string): PolicyDocument => {
  const r = parsePolicy(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
};

const CURRENT = `version: 1
policies:
  - name: web
    match: { project: demo }
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { host: "**.npmjs.org", ports: [443] }
        - { cidr: 10.20.0.0/16, ports: [5432] }
`;

let seq = 0;
/** An event as the attributor publishes it (validated by the contracts schema). */
function event(over: Partial<EgressEvent>): EgressEvent {
  seq++;
  return EgressEvent.parse({
    id: `vm:boot:${seq}`,
    time: new Date(Date.UTC(2026, 11, 1, 12, 0, seq)).toISOString(),
    node: 'vm',
    attribution: 'docker',
    project: 'demo',
    agent: 'coder',
    container_id: 'c1',
    kind: 'tcp_close',
    verdict: 'ALLOWED',
    audit: false,
    reason: 'host',
    rule_id: 4097,
    policy_id: 1,
    cgroup_id: '4242',
    pid: 10,
    comm: 'node',
    family: 'ipv4',
    l4_proto: 'tcp',
    dst_ip: '140.82.112.6',
    dst_port: 443,
    dst_host: 'api.github.com',
    bytes_in: 100,
    bytes_out: 50,
    duration_ms: 12,
    ...over,
  });
}

const traffic = (): EgressEvent[] => [
  event({}),
  event({}),
  event({ dst_host: 'registry.npmjs.org', dst_ip: '104.16.1.34' }),
  event({ dst_host: undefined, dst_ip: '10.20.3.4', dst_port: 5432, reason: 'rule' }),
  event({ kind: 'connect', verdict: 'DENIED', reason: 'default', rule_id: 0, dst_host: 'evil.example.com', dst_ip: '203.0.113.9', bytes_in: undefined, bytes_out: undefined, duration_ms: undefined }),
  event({ kind: 'tcp_interim' }),
  event({ verdict: 'BYPASSED', reason: 'bypass', dst_host: 'pastebin.com', dst_ip: '104.20.1.1' }),
  event({ kind: 'sock_create', l4_proto: 'raw', verdict: 'DENIED', reason: 'raw_socket' }),
];

const attempts = (events: EgressEvent[]) => events.map((e) => attemptOf(e)).filter((a): a is Attempt => typeof a !== 'string');

describe('policy simulation', () => {
  it('keeps what was not a policy decision out of the replay', () => {
    expect(traffic().map((e) => (typeof attemptOf(e) === 'string' ? attemptOf(e) : 'attempt'))).toEqual([
      'attempt', 'attempt', 'attempt', 'attempt', 'attempt', 'interim', 'bypassed', 'not_a_connection',
    ]);
    expect(attemptOf(event({ audit: true, reason: 'learn' }))).toMatchObject({ recorded: 'deny' });
  });

  it('the current policy changes nothing', () => {
    const s = simulate(doc(CURRENT), attempts(traffic()));
    expect(s).toMatchObject({ replayed: 5, unchanged: 5, newly_denied: [], newly_allowed: [] });
  });

  it('a candidate without one rule newly denies exactly that traffic, grouped with count and first/last', () => {
    const events = traffic();
    const candidate = doc(CURRENT.replace('        - { host: api.github.com, ports: [443] }\n', ''));
    const s = simulate(candidate, attempts(events));
    expect(s.newly_allowed).toEqual([]);
    expect(s.newly_denied).toEqual([
      {
        project: 'demo',
        agent: 'coder',
        destination: 'api.github.com',
        port: 443,
        proto: 'tcp',
        outcome: 'DENIED',
        count: 2,
        first: events[0]!.time,
        last: events[1]!.time,
        addresses: ['140.82.112.6'],
      },
    ]);
    expect(s.unchanged).toBe(3);
  });

  it('reports newly allowed, and would-deny in a learn candidate as AUDIT', () => {
    const wider = doc(CURRENT.replace('**.npmjs.org', '**.example.com'));
    const s = simulate(wider, attempts(traffic()));
    expect(s.newly_allowed.map((g) => `${g.destination}:${g.port} ${g.outcome}`)).toEqual(['evil.example.com:443 ALLOWED']);
    expect(s.newly_denied.map((g) => `${g.destination}:${g.port} ${g.outcome}`)).toEqual(['registry.npmjs.org:443 DENIED']);
    const learn = simulate(doc(CURRENT.replace('    resolvers', '    mode: learn\n    resolvers').replace('        - { cidr: 10.20.0.0/16, ports: [5432] }\n', '')), attempts(traffic()));
    expect(learn.newly_denied.map((g) => `${g.destination}:${g.port} ${g.outcome}`)).toEqual(['10.20.3.4:5432 AUDIT']);
  });

  it('host rules of an enforce policy without resolvers match nothing, as in the kernel', () => {
    const s = simulate(doc(CURRENT.replace('    resolvers: [127.0.0.11]\n', '')), attempts(traffic()));
    expect(s.newly_denied.map((g) => g.destination)).toEqual(['api.github.com', 'registry.npmjs.org']);
  });

  it('workloads no policy selects get the default', () => {
    const s = simulate(doc(CURRENT), attempts([event({ project: 'other' }), event({ project: undefined, agent: undefined, attribution: 'unknown' })]));
    expect(s.newly_denied.map((g) => `${g.project}/${g.agent} ${g.outcome}`)).toEqual(['null/null DENIED', 'other/coder DENIED']);
  });
});

describe('resolver trust from DNS events', () => {
  const dns = (over: Partial<DnsEvent>): DnsEvent =>
    DnsEvent.parse({ id: `vm:dns:${++seq}`, time: new Date(Date.UTC(2026, 11, 1, 12, 0, 0)).toISOString(), node: 'vm', attribution: 'docker', project: 'demo', agent: 'coder', cgroup_id: '4242', qname: 'api.github.com.', qtype: 'A', rcode: 'NOERROR', answers: ['140.82.112.6'], ttl: 60, resolver_ip: '127.0.0.11', ...over });

  it('a name counts only when a resolver the candidate lists answered it', () => {
    const index = new ResolverIndex();
    index.add(dns({}));
    index.add(dns({ qname: 'registry.npmjs.org', answers: ['104.16.1.34'], resolver_ip: '8.8.8.8' }));
    index.add(dns({ qname: 'ignored.example', answers: [], rcode: 'NXDOMAIN' }));
    expect(index.lookup('demo', 'coder', 'API.GitHub.com')).toEqual(['127.0.0.11']);
    expect(index.lookup('demo', 'other', 'api.github.com')).toBeUndefined();
    const list = traffic().map((e) => attemptOf(e, index)).filter((a): a is Attempt => typeof a !== 'string');
    expect(list[0]!.resolvers).toEqual(['127.0.0.11']);
    // registry.npmjs.org was answered by 8.8.8.8, which the policy does not list: the kernel would
    // not have trusted that answer, so the ** rule could not have matched.
    expect(simulate(doc(CURRENT), list).newly_denied.map((g) => g.destination)).toEqual(['registry.npmjs.org']);
    const both = simulate(doc(CURRENT.replace('[127.0.0.11]', '[127.0.0.11, 8.8.8.8]')), list);
    expect(both.newly_denied).toEqual([]);
    const moved = simulate(doc(CURRENT.replace('[127.0.0.11]', '[10.0.0.2]')), list);
    expect(moved.newly_denied.map((g) => g.destination)).toEqual(['api.github.com', 'registry.npmjs.org']);
  });
});
