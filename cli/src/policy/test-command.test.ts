// `sluice policy test` on a real NDJSON store written by the sink's own file writer: the current
// policy changes nothing (exit 0), a candidate without one rule newly denies exactly that rule's
// traffic (exit 1), with the text table on stdout and --json for machines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DnsEvent, EgressEvent } from '@sluice/contracts';
import { dnsDocument, egressDocument, FileStoreWriter } from '@sluice/store';
import { policy } from '../commands/policy.ts';
import { queryOf } from './test-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-test-'));
const store = join(dir, 'events');
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

const CURRENT = `version: 1
policies:
  - name: coder
    match: { project: demo, agent: coder }
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { host: "**.npmjs.org", ports: [443] }
        - { cidr: 10.20.0.0/16, ports: [5432] }
  - name: demo
    match: { project: demo }
    mode: learn
`;

let n = 0;
function event(over: Partial<EgressEvent>): EgressEvent {
  n++;
  return EgressEvent.parse({
    id: `vm:boot-1:${n}`,
    time: new Date(T0 + n * 60_000).toISOString(),
    node: 'vm',
    attribution: 'docker',
    project: 'demo',
    agent: 'coder',
    container_id: 'c0ffee',
    kind: 'tcp_close',
    verdict: 'ALLOWED',
    audit: false,
    reason: 'host',
    rule_id: 4097,
    policy_id: 1,
    cgroup_id: '9001',
    socket_cookie: String(n),
    pid: 77,
    comm: 'node',
    family: 'ipv4',
    l4_proto: 'tcp',
    dst_ip: '140.82.112.6',
    dst_port: 443,
    dst_host: 'api.github.com',
    src_ip: '172.17.0.2',
    src_port: 40000 + n,
    bytes_in: 4000,
    bytes_out: 600,
    duration_ms: 80,
    ...over,
  });
}

const events: EgressEvent[] = [];

beforeAll(async () => {
  events.push(
    event({}),
    event({ dst_host: 'registry.npmjs.org', dst_ip: '104.16.1.34' }),
    event({}),
    event({ dst_host: undefined, dst_ip: '10.20.3.4', dst_port: 5432, reason: 'rule', rule_id: 4099 }),
    event({ kind: 'connect', verdict: 'DENIED', reason: 'default', rule_id: 0, dst_host: 'pastebin.com', dst_ip: '104.20.1.1', bytes_in: undefined, bytes_out: undefined, duration_ms: undefined }),
    // Another agent of the project, in learn mode: everything it did was a would-deny.
    event({ agent: 'helper', cgroup_id: '9002', audit: true, reason: 'learn', dst_host: 'api.github.com' }),
    event({}),
  );
  const writer = new FileStoreWriter({ dir: store, maxFileBytes: 1200, retentionMs: 365 * 864e5 });
  // In several batches, so the store holds several rotated files, as a running sink leaves it.
  for (let i = 0; i < events.length; i += 3) {
    await writer.write(events.slice(i, i + 3).map((e) => ({ source: 'egress' as const, id: e.id, json: JSON.stringify(egressDocument(e, e.time)) })));
  }
  // The DNS answers behind the names, as the attributor records them (clawker-dns).
  const answer = (qname: string, ip: string, t: number): DnsEvent =>
    DnsEvent.parse({ id: `vm:dns:${qname}`, time: new Date(t).toISOString(), node: 'vm', attribution: 'docker', project: 'demo', agent: 'coder', cgroup_id: '9001', qname, qtype: 'A', rcode: 'NOERROR', answers: [ip], ttl: 300, resolver_ip: '127.0.0.11' });
  const answers = [answer('api.github.com', '140.82.112.6', T0), answer('registry.npmjs.org', '104.16.1.34', T0 + 1000)];
  await writer.write(answers.map((e) => ({ source: 'dns' as const, id: e.id, json: JSON.stringify(dnsDocument(e, e.time)) })));
  await writer.close();
  writeFileSync(join(dir, 'current.yaml'), CURRENT);
  // Names answered by 127.0.0.11 are not trusted by a policy that lists only another resolver.
  writeFileSync(join(dir, 'other-resolver.yaml'), CURRENT.replace('resolvers: [127.0.0.11]', 'resolvers: [10.0.0.2]'));
  writeFileSync(join(dir, 'no-github.yaml'), CURRENT.replace('        - { host: api.github.com, ports: [443] }\n', ''));
});

type Spy = { mock: { calls: unknown[][] } };
let stdout: Spy;
let stderr: Spy;
const capture = () => {
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true) as unknown as Spy;
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true) as unknown as Spy;
};
const text = (s: Spy) => s.mock.calls.map((c) => String(c[0])).join('');
afterEach(() => vi.restoreAllMocks());

describe('sluice policy test (ndjson store)', () => {
  it('the current policy: exit 0, nothing changes', async () => {
    capture();
    expect(await policy.run(['test', join(dir, 'current.yaml'), '--dir', store])).toBe(0);
    expect(text(stdout)).toBe('newly denied: none\nnewly allowed: none\n');
    expect(text(stderr)).toMatch(/replayed 7 attempt\(s\) from ndjson store .*: 7 unchanged; 2 resolved name\(s\) with their resolvers/);
  });

  it('a candidate that removes one rule: exit 1 and exactly that rule\'s traffic, grouped', async () => {
    capture();
    expect(await policy.run(['test', join(dir, 'no-github.yaml'), '--dir', store, '--json'])).toBe(1);
    const r = JSON.parse(text(stdout)) as { replayed: number; unchanged: number; newly_denied: unknown[]; newly_allowed: unknown[] };
    expect(r.newly_allowed).toEqual([]);
    expect(r.newly_denied).toEqual([
      {
        project: 'demo',
        agent: 'coder',
        destination: 'api.github.com',
        port: 443,
        proto: 'tcp',
        outcome: 'DENIED',
        count: 3,
        first: events[0]!.time,
        last: events[6]!.time,
        addresses: ['140.82.112.6'],
      },
    ]);
    expect(r).toMatchObject({ replayed: 7, unchanged: 4 });

    capture();
    expect(await policy.run(['test', join(dir, 'no-github.yaml'), '--dir', store])).toBe(1);
    const table = text(stdout).split('\n');
    expect(table[0]).toBe('newly denied: 3 attempt(s) in 1 group(s)');
    expect(table[1]).toMatch(/^ {2}WORKLOAD +DESTINATION +PORT +NOW +COUNT +FIRST +LAST$/);
    expect(table[2]).toMatch(new RegExp(`^  demo/coder +api\\.github\\.com \\(140\\.82\\.112\\.6\\) +443/tcp +DENIED +3 +${events[0]!.time} +${events[6]!.time}$`));
  });

  it('narrows by agent and time window', async () => {
    capture();
    const args = ['test', join(dir, 'no-github.yaml'), '--dir', store, '--json', '--agent', 'coder', '--from', events[1]!.time, '--to', events[4]!.time];
    expect(await policy.run(args)).toBe(1);
    const r = JSON.parse(text(stdout)) as { replayed: number; newly_denied: Array<{ count: number }> };
    expect(r.replayed).toBe(4);
    expect(r.newly_denied.map((g) => g.count)).toEqual([1]);
    expect(() => queryOf({ since: '1h', from: events[0]!.time })).toThrow(/not both/);
  });

  it('judges names by the resolver that answered them (DNS events in the store)', async () => {
    capture();
    expect(await policy.run(['test', join(dir, 'other-resolver.yaml'), '--dir', store, '--json'])).toBe(1);
    const r = JSON.parse(text(stdout)) as { dns_names: number; newly_denied: Array<{ destination: string; count: number }> };
    expect(r.dns_names).toBe(2);
    expect(r.newly_denied.map((g) => `${g.destination} ${g.count}`)).toEqual(['api.github.com 3', 'registry.npmjs.org 1']);
  });

  it('refuses an invalid candidate with its errors (exit 2)', async () => {
    capture();
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\npolicies:\n  - { name: x, match: {} }\n');
    expect(await policy.run(['test', join(dir, 'bad.yaml'), '--dir', store])).toBe(2);
    expect(text(stderr)).toContain('bad.yaml:3:23: policies[0].match: empty selector');
  });
});
