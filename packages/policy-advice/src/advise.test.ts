import { describe, expect, it } from 'vitest';
import { parsePolicy, type DnsEvent, type EgressEvent, type PolicyDocument } from '@sluice/contracts';
import { DEMO_POLICY_YAML, egressEvent } from '@sluice/testkit/unit';
import { parse } from 'yaml';
import { adviseDenial, adviseDnsRejection, documentWith } from './advise.ts';

const YAML = DEMO_POLICY_YAML;

function doc(text = YAML): PolicyDocument {
  const r = parsePolicy(text, { file: 't.yaml' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
}
const ids = { next_policy_id: 8, policies: { web: { id: 7, hash: 'h' } } };
const cur = { document: doc(), revision: 3, ids };

const denied = (over: Partial<EgressEvent>): EgressEvent =>
  egressEvent(1, { verdict: 'DENIED', reason: 'default', rule_id: 0, policy_id: 7, project: 'demo', agent: 'bot', dst_host: undefined, ...over });

describe('adviseDenial', () => {
  it('a denied name gets one host rule for exactly that port and protocol, in the governing policy, verified', () => {
    const a = adviseDenial(cur, denied({ dst_ip: '140.82.112.5', dst_port: 443, dst_host: 'Uploads.GitHub.com.' }));
    expect(a.no_change).toBeUndefined();
    expect(a.change).toMatchObject({ policy: 'web', created: false, add: { host: 'uploads.github.com', ports: [443], proto: 'tcp' }, verified: true });
    expect(a.why).toMatch(/no rule of policy web allows it/);
    // The snippet is the document's own format and says where it goes.
    expect(a.change!.yaml).toContain('# add to policy web (revision 3): merge egress.allow into its entry');
    expect(a.change!.yaml).toContain('- { host: uploads.github.com, ports: [ 443 ], proto: tcp }');
    expect(parse(a.change!.yaml)).toEqual({ policies: [{ name: 'web', egress: { allow: [{ host: 'uploads.github.com', ports: [443], proto: 'tcp' }] } }] });
  });

  it('an address without a name gets its /32, never a wider CIDR; rule_port names the near-miss rule', () => {
    const a = adviseDenial(cur, denied({ reason: 'rule_port', rule_id: 7 * 4096 + 2, dst_ip: '10.20.1.2', dst_port: 6432 }));
    expect(a.rule).toBe('policies[web].egress.allow[1] (10.20.0.0/16 tcp 5432)');
    expect(a.why).toMatch(/names this destination but not this port/);
    expect(a.change).toMatchObject({ add: { cidr: '10.20.1.2/32', ports: [6432], proto: 'tcp' }, verified: true });
  });

  it('IP-only port 53 becomes a resolver, not an open UDP/53 rule', () => {
    const a = adviseDenial(cur, denied({ l4_proto: 'udp', kind: 'sendmsg', dst_ip: '1.1.1.1', dst_port: 53 }));
    expect(a.change).toMatchObject({ resolver: '1.1.1.1', verified: true });
    expect(a.change!.add).toBeUndefined();
    expect(a.change!.yaml).toContain('resolvers: [ 1.1.1.1 ]');
  });

  it('a workload no policy selects gets a new enforce policy selecting exactly its labels', () => {
    const a = adviseDenial(cur, denied({ project: 'other', agent: 'a.b', policy_id: 0, dst_ip: '203.0.113.9', dst_port: 8080 }));
    expect(a.why).toMatch(/no policy selects/);
    expect(a.change).toMatchObject({ policy: 'allow-other-a-b', created: true, match: { project: 'other', agent: 'a.b' }, verified: true });
    expect(parse(a.change!.yaml).policies[0]).toEqual({
      name: 'allow-other-a-b',
      match: { project: 'other', agent: 'a.b' },
      mode: 'enforce',
      loopback: false,
      egress: { allow: [{ cidr: '203.0.113.9/32', ports: [8080], proto: 'tcp' }] },
    });
    // The new policy opens exactly the one attempt: its neighbour port stays denied.
    const after = documentWith(doc(), a.change!);
    expect(after.policies.at(-1)!.egress.allow).toHaveLength(1);
  });

  it('with no policy applied at all the change is a new policy too', () => {
    const a = adviseDenial(undefined, denied({ dst_ip: '203.0.113.9', dst_port: 22 }));
    expect(a.change).toMatchObject({ created: true, policy: 'allow-demo-bot', verified: true });
  });

  it('a host rule under a policy with no resolvers is offered with the resolver DNS events saw, else flagged unverified', () => {
    const noResolvers = { document: doc(YAML.replace('    resolvers: [127.0.0.11]\n', '')) };
    const e = denied({ dst_ip: '140.82.112.5', dst_port: 443, dst_host: 'uploads.github.com' });
    const withSeen = adviseDenial(noResolvers, e, { resolvers: ['127.0.0.11'] });
    expect(withSeen.change).toMatchObject({ add: { host: 'uploads.github.com' }, resolver: '127.0.0.11', verified: true });
    const unseen = adviseDenial(noResolvers, e);
    expect(unseen.change).toMatchObject({ verified: false });
    expect(unseen.change!.note).toMatch(/resolvers/);
  });

  it.each([
    [{ kind: 'sock_create', reason: 'raw_socket', sock_type: 'raw', sock_protocol: 1 } as const, 'raw_socket'],
    [{ kind: 'bind', reason: 'dns_bind', dst_ip: '127.0.0.11', dst_port: 53 } as const, 'dns_bind'],
    [{ kind: 'sockopt', reason: 'source_route_opt' } as const, 'source_route_opt'],
    [{ kind: 'packet', reason: 'source_route' } as const, 'source_route'],
    [{ kind: 'bpf', reason: 'bpf_syscall', bpf_cmd: 34 } as const, 'bpf_syscall'],
  ])('%o needs no rule change but something else', (over, code) => {
    const a = adviseDenial(cur, denied(over));
    expect(a.change).toBeUndefined();
    expect(a.no_change!.code).toBe(code);
    expect(a.no_change!.message).toMatch(/no allow rule|refused by design/);
  });

  it('an attempt the current revision allows says so (and names the start race when the cgroup had no entry)', () => {
    const a = adviseDenial(cur, denied({ policy_id: 0, dst_ip: '10.20.3.4', dst_port: 5432 }));
    expect(a.no_change).toMatchObject({ code: 'allowed_now' });
    expect(a.no_change!.message).toMatch(/revision 3.*start race/);
  });

  it('an unlabelled workload cannot be selected by any policy', () => {
    const a = adviseDenial(cur, denied({ project: undefined, agent: undefined, attribution: 'unknown' }));
    expect(a.no_change!.code).toBe('unattributed');
  });

  it('a covered name the kernel did not believe gets the resolver that answered it', () => {
    const noResolvers = { document: doc(YAML.replace('    resolvers: [127.0.0.11]\n', '')) };
    const e = denied({ dst_ip: '140.82.112.5', dst_port: 443, dst_host: 'api.github.com' });
    expect(adviseDenial(noResolvers, e, { resolvers: ['127.0.0.11'] }).change).toMatchObject({ resolver: '127.0.0.11', verified: true });
    expect(adviseDenial(noResolvers, e).no_change!.code).toBe('covered_but_denied');
  });

  it('a rule id of a policy id not in the revision is named as such', () => {
    expect(adviseDenial(cur, denied({ reason: 'rule_port', rule_id: 9 * 4096 + 1, policy_id: 9, dst_ip: '10.0.0.1', dst_port: 1 })).rule).toMatch(/policy id 9 \(not in revision 3\)/);
  });
});

describe('adviseDnsRejection', () => {
  const dns = (over: Partial<DnsEvent>): DnsEvent => ({
    id: 'n:b:1', time: '2026-01-01T00:00:00.000Z', node: 'n', cgroup_id: '9', qname: 'api.github.com', qtype: 'A', rcode: 'NOERROR',
    answers: ['140.82.112.5'], ttl: 60, resolver_ip: '10.0.0.53', attribution: 'docker', project: 'demo', agent: 'bot', ...over,
  });
  it('an answer from a resolver the policy does not list: list it (verified)', () => {
    const a = adviseDnsRejection(cur, dns({ rejected: 'untrusted' }))!;
    expect(a.change).toMatchObject({ policy: 'web', resolver: '10.0.0.53', verified: true });
    expect(a.why).toMatch(/10\.0\.0\.53 is not a resolver/);
  });
  it('a forged answer needs no rule change, and says why', () => {
    const a = adviseDnsRejection(cur, dns({ rejected: 'unsolicited', forged: true }))!;
    expect(a.no_change).toMatchObject({ code: 'dns_forged' });
    expect(a.why).toMatch(/not believed: unsolicited/);
  });
  it('a believed answer has nothing to explain', () => {
    expect(adviseDnsRejection(cur, dns({}))).toBeUndefined();
  });
});
