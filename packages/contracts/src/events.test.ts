import { describe, expect, it } from 'vitest';
import { EgressEvent, ContainerLifecycle } from './events.ts';

const base = {
  id: 'node-a:boot:1',
  time: '2026-11-23T12:00:00.000Z',
  node: 'node-a',
  kind: 'connect',
  verdict: 'DENIED',
  audit: false,
  reason: 'default',
  rule_id: 0,
  cgroup_id: '18446744073709551615',
  pid: 42,
  comm: 'curl',
  family: 'ipv4',
  l4_proto: 'tcp',
  dst_ip: '93.184.216.34',
  dst_port: 443,
  attribution: 'docker',
  agent: 'agent.one',
  project: 'demo project ✓',
} as const;

describe('event schemas', () => {
  it('accept a full egress event and keep u64 ids exact', () => {
    const parsed = EgressEvent.parse(base);
    expect(parsed.cgroup_id).toBe('18446744073709551615');
    expect(parsed.project).toBe('demo project ✓');
  });

  it('name the offending field', () => {
    const r = EgressEvent.safeParse({ ...base, dst_port: 70000, verdict: 'MAYBE' });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['dst_port', 'verdict']);
  });

  it('reject cgroup ids that are not u64 decimal strings', () => {
    expect(EgressEvent.safeParse({ ...base, cgroup_id: 12 }).success).toBe(false);
    expect(EgressEvent.safeParse({ ...base, cgroup_id: '-1' }).success).toBe(false);
  });

  it('require the AF_PACKET flag on lifecycle messages', () => {
    const r = ContainerLifecycle.safeParse({
      event: 'start',
      time: base.time,
      node: 'n',
      container_id: 'abc',
      ips: [],
      attribution: 'docker',
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['can_bypass_raw']);
  });
});
