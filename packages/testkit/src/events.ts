// Event builders shared by tests and benchmarks: valid by construction (the contracts' schemas),
// varied across agents and verdicts so queries have something to tell apart.
import type { AuditEvent, DnsEvent, EgressEvent, Verdict } from '@sluice/contracts';

export function egressEvent(i: number, over: Partial<EgressEvent> = {}): EgressEvent {
  const verdicts: Verdict[] = ['ALLOWED', 'DENIED', 'BYPASSED'];
  return {
    id: `node-t:boot:${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + i).toISOString(),
    node: 'node-t',
    kind: 'connect',
    verdict: verdicts[i % 3]!,
    audit: false,
    reason: 'rule',
    rule_id: i % 7,
    cgroup_id: String(10_000 + (i % 5)),
    pid: 100 + (i % 50),
    comm: 'curl',
    family: 'ipv4',
    l4_proto: 'tcp',
    dst_ip: `93.184.${(i >> 8) & 255}.${i & 255}`,
    dst_port: 443,
    dst_host: `host-${i % 11}.example.com`,
    bytes_out: i * 3,
    bytes_in: i * 5,
    attribution: 'docker',
    agent: `agent-${i % 4}`,
    project: 'proj',
    container_id: `c${i % 4}`,
    ...over,
  };
}

export function dnsEvent(i: number, over: Partial<DnsEvent> = {}): DnsEvent {
  return {
    id: `node-t:dns:${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + i).toISOString(),
    node: 'node-t',
    cgroup_id: '10001',
    qname: `host-${i % 11}.example.com`,
    qtype: 'A',
    rcode: 'NOERROR',
    answers: [`93.184.0.${i & 255}`],
    ttl: 60,
    resolver_ip: '127.0.0.11',
    attribution: 'docker',
    agent: `agent-${i % 4}`,
    project: 'proj',
    ...over,
  };
}

export function auditEvent(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `audit:${i}`,
    time: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + i).toISOString(),
    kind: 'policy_apply',
    actor: 'operator@example.com',
    reason: 'tighten npm rules',
    before_revision: i,
    after_revision: i + 1,
    subject: { policy: 'web-agents', project: 'proj' },
    ...over,
  };
}

export const ndjson = (events: object[]): string => events.map((e) => JSON.stringify(e)).join('\n');

let seq = 0;
/** A learn-mode attempt (audit) from `agent` to host-or-IP:port, as the attributor would emit it. */
export function attempt(
  run: string,
  project: string,
  agent: string,
  dst: { host?: string; ip: string; port: number; proto?: string },
  over: Partial<EgressEvent> = {},
): EgressEvent {
  seq++;
  return {
    id: `learntest:${run}:${seq}`,
    time: new Date().toISOString(),
    node: 'learntest',
    kind: 'connect',
    verdict: 'ALLOWED',
    audit: true,
    reason: 'learn',
    rule_id: 0,
    cgroup_id: '4242',
    pid: 100,
    comm: 'curl',
    family: dst.ip.includes(':') ? 'ipv6' : 'ipv4',
    l4_proto: dst.proto ?? 'tcp',
    dst_ip: dst.ip,
    dst_port: dst.port,
    ...(dst.host ? { dst_host: dst.host } : {}),
    attribution: 'docker',
    agent,
    project,
    container_id: `c-${agent}`,
    ...over,
  };
}
