import { describe, expect, it } from 'vitest';
import { parsePolicy } from '@sluice/contracts';
import { ResolverIndex } from '@sluice/policy/simulate';
import { dnsEvent, egressEvent } from '@sluice/testkit/unit';
import { dnsNotices, notices } from './denials.ts';
import { renderDnsNotice, renderNotice } from './render.ts';

const parsed = parsePolicy('version: 1\npolicies:\n  - name: web\n    match: { project: proj }\n    resolvers: [127.0.0.11]\n    egress: { allow: [] }\n');
if (!parsed.ok) throw new Error('fixture');
const policy = { ok: true as const, current: { document: parsed.document, revision: 2 } };

describe('why rendering', () => {
  it('a denial: header with reason, why, the snippet indented under "change"', () => {
    const [n] = notices([egressEvent(1, { verdict: 'DENIED', reason: 'default', dst_host: undefined, dst_ip: '203.0.113.9', dst_port: 8080 })], policy, new ResolverIndex());
    const text = renderNotice(n!);
    expect(text).toMatch(/^2026-01-01T12:00:00\.001Z {2}DENIED connect 203\.0\.113\.9:8080\/tcp {2}reason=default/);
    expect(text).toContain('  why: 203.0.113.9:8080/tcp: no rule of policy web allows it');
    expect(text).toContain('  change (replayed through the policy compiler: this attempt would be ALLOWED):\n    # add to policy web (revision 2)');
    expect(text).toContain('            - { cidr: 203.0.113.9/32, ports: [ 8080 ], proto: tcp }');
  });
  it('a raw socket: no rule change, and what instead', () => {
    const [n] = notices([egressEvent(2, { verdict: 'DENIED', kind: 'sock_create', reason: 'raw_socket', sock_type: 'raw', sock_protocol: 1 })], policy, new ResolverIndex());
    expect(renderNotice(n!)).toMatch(/DENIED sock_create raw socket, protocol 1 .*\n {2}why: .*\n {2}no rule change \(raw_socket\): no allow rule opens raw IP/);
  });
  it('an untrusted DNS answer: list the resolver; a believed one is not shown', () => {
    const list = dnsNotices([dnsEvent(1, { rejected: 'untrusted', resolver_ip: '10.0.0.53', project: 'proj' }), dnsEvent(2, { project: 'proj' })], policy);
    expect(list).toHaveLength(1);
    const text = renderDnsNotice(list[0]!);
    expect(text).toMatch(/DNS answer not believed: .* from 10\.0\.0\.53 \(untrusted\)/);
    expect(text).toContain('resolvers: [ 10.0.0.53 ]');
  });
});
