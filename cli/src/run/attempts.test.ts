import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '@sluice/contracts';
import { Attempts, formatAttempts } from './attempts.ts';

const e = (over: Partial<EgressEvent>): EgressEvent => ({
  id: 'x',
  time: '2026-11-23T12:00:00.000Z',
  node: 'n',
  kind: 'connect',
  verdict: 'ALLOWED',
  audit: false,
  reason: 'rule',
  rule_id: 1,
  cgroup_id: '1',
  pid: 1,
  comm: 'curl',
  family: 'ipv4',
  l4_proto: 'tcp',
  dst_ip: '10.0.0.1',
  dst_port: 443,
  attribution: 'registered',
  ...over,
});

describe('run attempts table', () => {
  it('groups by destination, port, proto and verdict, denied first, names before IPs', () => {
    const a = new Attempts();
    a.add(e({ dst_host: 'api.example.test' }));
    a.add(e({ verdict: 'DENIED', dst_ip: '10.9.9.9', dst_port: 22 }));
    a.add(e({ verdict: 'ALLOWED', audit: true, dst_host: 'new.example.test' }));
    a.add(e({ kind: 'tcp_close', dst_host: 'api.example.test', bytes_out: 5, socket_cookie: '7' }));
    a.add(e({ kind: 'connect', dst_host: 'api.example.test', socket_cookie: '7' }));
    a.add(e({ kind: 'tcp_interim', dst_host: 'api.example.test', socket_cookie: '8' }));
    a.add(e({ kind: 'suppressed', verdict: 'DENIED', dst_ip: '10.9.9.9', dst_port: 22, suppressed_count: 40 }));
    expect(a.table()).toEqual([
      { destination: '10.9.9.9', port: 22, proto: 'tcp', verdict: 'DENIED', count: 41 },
      { destination: 'new.example.test', port: 443, proto: 'tcp', verdict: 'ALLOWED (would deny)', count: 1 },
      { destination: 'api.example.test', port: 443, proto: 'tcp', verdict: 'ALLOWED', count: 2 },
    ]);
    expect(a.liveLine()).toBe('allowed 3  denied 41  bypassed 0  would-deny 1');
    expect(formatAttempts(a.table()).split('\n')[0]).toMatch(/^DESTINATION\s+PORT\s+PROTO\s+VERDICT\s+COUNT$/);
  });
});
