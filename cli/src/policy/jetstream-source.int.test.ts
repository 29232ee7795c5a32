// `sluice policy test --source jetstream` against a private nats-server (own port, own store
// directory): events published on SLUICE_EVENTS as the attributor publishes them (NDJSON batches
// per subject), read back by time through an ordered consumer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { DnsEvent, EgressEvent, STREAMS, subjects } from '@sluice/contracts';
import { createLogger, ensureStream } from '@sluice/runtime';
import { privateNats, type TestNats } from '@sluice/testkit';
import { jetstreamDns, jetstreamEvents } from './event-sources.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-policy-test-js-'));
let server: TestNats;
let url: string;
const now = Date.now();

const POLICY = `version: 1
policies:
  - name: coder
    match: { project: demo, agent: coder }
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { cidr: 10.20.0.0/16, ports: [5432] }
`;

function event(i: number, over: Partial<EgressEvent>): EgressEvent {
  return EgressEvent.parse({
    id: `vm:boot:${i}`,
    time: new Date(now - (10 - i) * 60_000).toISOString(),
    node: 'vm',
    attribution: 'docker',
    project: 'demo',
    agent: 'coder',
    kind: 'tcp_close',
    verdict: 'ALLOWED',
    audit: false,
    reason: 'host',
    rule_id: 4097,
    cgroup_id: '9001',
    pid: 7,
    comm: 'node',
    family: 'ipv4',
    l4_proto: 'tcp',
    dst_ip: '140.82.112.6',
    dst_port: 443,
    dst_host: 'api.github.com',
    ...over,
  });
}

beforeAll(async () => {
  server = await privateNats();
  url = server.url;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 1000, maxReconnectAttempts: 0 });
      await ensureStream(await jetstreamManager(nc), STREAMS.events, createLogger('test', 'silent'));
      const js = jetstream(nc);
      const batches: Array<[string, EgressEvent[]]> = [
        [subjects.events('demo', 'coder', 'ALLOWED'), [event(1, {}), event(2, { dst_host: undefined, dst_ip: '10.20.0.9', dst_port: 5432, reason: 'rule' }), event(3, {})]],
        [subjects.events('demo', 'coder', 'DENIED'), [event(4, { verdict: 'DENIED', reason: 'default', rule_id: 0, dst_host: 'pastebin.com', dst_ip: '104.20.1.1', kind: 'connect' })]],
        [subjects.events('other', 'x', 'ALLOWED'), [event(5, { project: 'other', agent: 'x', audit: true, reason: 'learn' })]],
      ];
      for (const [subject, list] of batches) await js.publish(subject, list.map((e) => JSON.stringify(e)).join('\n'));
      const answer = DnsEvent.parse({ id: 'vm:dns:1', time: new Date(now - 11 * 60_000).toISOString(), node: 'vm', attribution: 'docker', project: 'demo', agent: 'coder', cgroup_id: '9001', qname: 'api.github.com', qtype: 'A', rcode: 'NOERROR', answers: ['140.82.112.6'], ttl: 300, resolver_ip: '127.0.0.11' });
      await js.publish(subjects.dns('demo', 'coder'), JSON.stringify(answer));
      await nc.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  writeFileSync(join(dir, 'current.yaml'), POLICY);
  writeFileSync(join(dir, 'no-github.yaml'), POLICY.replace('        - { host: api.github.com, ports: [443] }\n', ''));
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('policy test --source jetstream', () => {
  it('reads SLUICE_EVENTS by time and project, up to the last stored message', async () => {
    const all: string[] = [];
    for await (const e of jetstreamEvents({ servers: url }, {}, () => {})) all.push(e.id);
    expect(all.sort()).toEqual(['vm:boot:1', 'vm:boot:2', 'vm:boot:3', 'vm:boot:4', 'vm:boot:5']);
    const demo: string[] = [];
    for await (const e of jetstreamEvents({ servers: url }, { project: 'demo', from: now - 8.5 * 60_000 }, () => {})) demo.push(e.id);
    expect(demo.sort()).toEqual(['vm:boot:2', 'vm:boot:3', 'vm:boot:4']);
  });

  it('reads the DNS answers on sluice.dns.* from before the window', async () => {
    const got: string[] = [];
    for await (const d of jetstreamDns({ servers: url }, { project: 'demo', from: now - 5 * 60_000 }, () => {})) got.push(`${d.qname} ${d.resolver_ip}`);
    expect(got).toEqual(['api.github.com 127.0.0.11']);
  });

  it('the CLI gates on newly denied attempts', () => {
    const run = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', main, 'policy', 'test', join(dir, file), '--source', 'jetstream', '--nats', url, '--project', 'demo', '--since', '1h', '--json'], {
        encoding: 'utf8',
      });
    const current = run('current.yaml');
    expect(current.status, current.stderr).toBe(0);
    expect(JSON.parse(current.stdout)).toMatchObject({ replayed: 4, unchanged: 4, newly_denied: [], newly_allowed: [] });
    const cut = run('no-github.yaml');
    expect(cut.status, cut.stderr).toBe(1);
    const r = JSON.parse(cut.stdout) as { newly_denied: Array<{ destination: string; count: number }> };
    expect(r.newly_denied.map((g) => `${g.destination} ${g.count}`)).toEqual(['api.github.com 2']);
    writeFileSync(join(dir, 'other-resolver.yaml'), POLICY.replace('[127.0.0.11]', '[10.0.0.2]'));
    const moved = run('other-resolver.yaml');
    expect(moved.status, moved.stderr).toBe(1);
    expect(JSON.parse(moved.stdout)).toMatchObject({ dns_names: 1, newly_denied: [{ destination: 'api.github.com', count: 2 }] });
  });
});
