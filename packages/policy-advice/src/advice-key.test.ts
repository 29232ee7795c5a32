import { describe, expect, it } from 'vitest';
import { EgressEvent, parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { DEMO_POLICY_YAML, egressEvent } from '@sluice/testkit/unit';
import { ADVICE_FIELDS, adviceKey, sameAdviceFields } from './advice-key.ts';
import { adviseDenial, type CurrentDocument } from './advise.ts';

function doc(text: string): PolicyDocument {
  const r = parsePolicy(text, { file: 't.yaml' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
}
const cur: CurrentDocument = {
  document: doc(DEMO_POLICY_YAML),
  revision: 3,
  ids: { next_policy_id: 8, policies: { web: { id: 7, hash: 'h' } } },
};

const denied = (over: Partial<EgressEvent>): EgressEvent =>
  egressEvent(1, { verdict: 'DENIED', reason: 'default', rule_id: 0, policy_id: 7, project: 'demo', agent: 'bot', dst_host: undefined, ...over });

// One event per branch of adviseDenial.
const SCENARIOS: Record<string, EgressEvent> = {
  'host change': denied({ dst_ip: '140.82.112.5', dst_port: 443, dst_host: 'uploads.github.com' }),
  'cidr, rule_port': denied({ reason: 'rule_port', rule_id: 7 * 4096 + 2, dst_ip: '10.20.1.2', dst_port: 6432 }),
  'covered but denied': denied({ dst_ip: '140.82.112.6', dst_port: 443, dst_host: 'api.github.com' }),
  'allowed now': denied({ dst_ip: '10.20.3.4', dst_port: 5432 }),
  resolver: denied({ l4_proto: 'udp', kind: 'sendmsg', dst_ip: '1.1.1.1', dst_port: 53 }),
  'new policy': denied({ project: 'other', agent: 'x', policy_id: 0, dst_ip: '203.0.113.9', dst_port: 8080 }),
  unattributed: denied({ project: undefined, agent: undefined, attribution: 'unknown', dst_ip: '203.0.113.9' }),
  'raw socket': denied({ kind: 'sock_create', reason: 'raw_socket', sock_type: 'raw', sock_protocol: 1, dst_ip: '', dst_port: 0 }),
  bpf: denied({ kind: 'bpf', reason: 'bpf_syscall', bpf_cmd: 5, dst_ip: '', dst_port: 0 }),
  suppressed: denied({ kind: 'suppressed', suppressed_count: 12 }),
  'not tcp/udp': denied({ l4_proto: 'icmp', dst_ip: '203.0.113.9' }),
  'not denied': egressEvent(2, { verdict: 'ALLOWED', audit: true }),
};

// A different valid value for every field outside the key.
const OTHER: Record<string, unknown> = {
  id: 'other:boot:99',
  time: '2027-06-01T00:00:00.000Z',
  node: 'node-other',
  socket_cookie: '77',
  pid: 4242,
  tid: 4243,
  comm: 'wget',
  family: 'ipv6',
  src_ip: '192.0.2.1',
  src_port: 40000,
  ipv4_mapped: true,
  dst_host_stale: true,
  domain_hash: '12345',
  bytes_in: 999,
  bytes_out: 888,
  duration_ms: 77,
  to_cgroup_id: '31337',
  first_time: '2027-06-01T00:00:00.000Z',
  last_time: '2027-06-01T00:00:01.000Z',
  attribution: 'registered',
  container_id: 'c-other',
  container_name: 'other-name',
  image: 'other:latest',
};

describe('adviceKey', () => {
  it('names every event field: each is either read by the advice or known not to change it', () => {
    const key = new Set<string>(ADVICE_FIELDS);
    const unlisted = Object.keys(EgressEvent.shape).filter((f) => !key.has(f) && !(f in OTHER));
    expect(unlisted).toEqual([]);
  });

  for (const [name, e] of Object.entries(SCENARIOS)) {
    it(`${name}: no field outside the key changes the advice`, () => {
      const base = JSON.stringify(adviseDenial(cur, e));
      for (const [field, value] of Object.entries(OTHER)) {
        const variant = EgressEvent.parse({ ...e, [field]: value });
        expect(adviceKey(variant), field).toBe(adviceKey(e));
        expect(JSON.stringify(adviseDenial(cur, variant)), field).toBe(base);
      }
    });
  }

  it('events that differ in a field the advice reads get different keys', () => {
    const e = SCENARIOS['host change']!;
    for (const over of [{ dst_port: 444 }, { dst_host: 'x.github.com' }, { agent: 'bot2' }, { project: undefined }, { l4_proto: 'udp' }, { reason: 'rule_port' as const }]) {
      expect(adviceKey({ ...e, ...over })).not.toBe(adviceKey(e));
    }
  });

  it('sameAdviceFields holds exactly when the keys are equal, field by field', () => {
    for (const e of Object.values(SCENARIOS)) {
      for (const [field, value] of Object.entries(OTHER)) expect(sameAdviceFields(e, EgressEvent.parse({ ...e, [field]: value })), field).toBe(true);
      for (const f of ADVICE_FIELDS) {
        const v = { ...e, [f]: f === 'audit' ? !e.audit : typeof e[f] === 'number' ? (e[f] as number) + 1 : `${String(e[f] ?? '')}x` } as EgressEvent;
        expect(adviceKey(v), f).not.toBe(adviceKey(e));
        expect(sameAdviceFields(e, v), f).toBe(false);
      }
    }
  });
});
