// Every filter of `sluice tail` / `sluice events` against real events from each source: published
// to the private NATS JetStream (SLUICE_EVENTS, read back through the live reader), written to an
// NDJSON store by a real sink process, and indexed into the private OpenSearch by another real
// sink (read back through the pushed-down bool query plus the client-side matcher). One table of
// cases, its expectations written out by hand, run against all three.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STREAMS, subjects, type EgressEvent } from '@sluice/contracts';
import { closeSlice, freePort, openSlice, startSink, stopService, waitFor, waitForCount, type ServiceProcess, type Slice } from '@sluice/testkit';
import { parseQueryArgs } from './args.ts';
import { forEachEvent, type ResolvedSource } from './run-query.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const LONG = `long-agent-${'λ'.repeat(1500)}`;
const T0 = Date.now() - 10_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

let s: Slice;
let P: string;
let Q: string;
let fixture: EgressEvent[];
let tag: string;
const sinks: ServiceProcess[] = [];
let storeDir: string;

function build(): EgressEvent[] {
  type Row = [project: string, agent: string | undefined, verdict: EgressEvent['verdict'], host: string | undefined, ip: string, port: number, proto: string, rule: number, reason: EgressEvent['reason'], ctr: [string, string | undefined] | undefined, node: string];
  const rows: Row[] = [
    /* 0 */ [P, 'a1', 'DENIED', 'api.github.com', '140.82.1.1', 443, 'tcp', 0, 'default', ['c0ffee01aa00', 'web-1'], 'n1'],
    /* 1 */ [P, 'a1', 'ALLOWED', 'x.y.github.com', '140.82.1.2', 443, 'tcp', 4097, 'host', ['c0ffee01aa00', 'web-1'], 'n1'],
    /* 2 */ [P, 'a2', 'DENIED', undefined, '10.9.8.7', 5432, 'tcp', 4098, 'rule_port', ['beef0002bb00', 'db-2'], 'n2'],
    /* 3 */ [P, 'a2', 'BYPASSED', 'registry.npmjs.org', '104.16.0.1', 443, 'tcp', 0, 'bypass', ['beef0002bb00', '/db-2'], 'n2'],
    /* 4 */ [P, 'agent.α', 'ALLOWED', undefined, '1.1.1.1', 53, 'udp', 4099, 'resolver', undefined, 'n1'],
    /* 5 */ [P, 'a1', 'DENIED', 'evil.example', '203.0.113.5', 8080, 'tcp', 0, 'default', ['c0ffee01aa00', undefined], 'n2'],
    /* 6 */ [P, undefined, 'DENIED', undefined, '192.0.2.1', 80, 'tcp', 0, 'default', undefined, 'n1'],
    /* 7 */ [P, 'a3', 'DENIED', undefined, '0.0.0.0', 0, 'raw', 0, 'raw_socket', ['cafe0003cc00', 'agent-3'], 'n1'],
    /* 8 */ [Q, 'a1', 'DENIED', 'api.github.com', '140.82.1.1', 443, 'tcp', 0, 'default', ['dd0004dd0000', 'q-1'], 'n1'],
    /* 9 */ [Q, 'a4', 'ALLOWED', 'pypi.org', '151.101.0.1', 443, 'tcp', 8193, 'host', ['dd0004dd0000', 'q-1'], 'n2'],
    /* 10 */ [P, LONG, 'DENIED', undefined, '198.51.100.7', 443, 'tcp', 0, 'default', undefined, 'n2'],
  ];
  return rows.map(([project, agent, verdict, host, ip, port, proto, rule, reason, ctr, node], i) => ({
    id: `${tag}:${i}`,
    time: at(i * 1000),
    node,
    kind: proto === 'raw' ? 'sock_create' : 'connect',
    verdict,
    audit: false,
    reason,
    rule_id: rule,
    cgroup_id: String(7000 + i),
    pid: 100 + i,
    comm: 'curl',
    family: 'ipv4',
    l4_proto: proto,
    dst_ip: ip,
    dst_port: port,
    ...(host !== undefined ? { dst_host: host } : {}),
    attribution: agent === undefined ? 'registered' : 'docker',
    project,
    ...(agent !== undefined ? { agent } : {}),
    ...(ctr !== undefined ? { container_id: ctr[0], ...(ctr[1] !== undefined ? { container_name: ctr[1] } : {}) } : {}),
  }));
}

const ALL = Array.from({ length: 11 }, (_, i) => i);
const but = (...drop: number[]) => ALL.filter((i) => !drop.includes(i));

/** [flags, the fixture events they keep]. Written by hand from the table above. */
const cases = (): Array<[string[], number[]]> => [
  [['--project', P], but(8, 9)],
  [['--project', Q], [8, 9]],
  [['--project', P, '--project', Q], ALL],
  [['--not', '--project', P], [8, 9]],
  [['--agent', 'a1'], [0, 1, 5, 8]],
  [['--agent', 'a1', '--agent', 'a2'], [0, 1, 2, 3, 5, 8]],
  [['--not', '--agent', 'a1'], [2, 3, 4, 6, 7, 9, 10]],
  [['--agent', 'agent.α'], [4]],
  [['--agent', LONG], [10]],
  [['--verdict', 'denied'], [0, 2, 5, 6, 7, 8, 10]],
  [['--verdict', 'ALLOWED', '--verdict', 'bypassed'], [1, 3, 4, 9]],
  [['--not', '--verdict', 'DENIED'], [1, 3, 4, 9]],
  [['--host', '*.github.com'], [0, 8]],
  [['--host', '**.github.com'], [0, 1, 8]],
  [['--host', '10.9.8.7'], [2]],
  [['--host', '140.82.1.*'], [0, 1, 8]],
  [['--host', 'pypi.org', '--host', '*.npmjs.org'], [3, 9]],
  [['--not', '--host', '**.github.com'], [2, 3, 4, 5, 6, 7, 9, 10]],
  [['--port', '443'], [0, 1, 3, 8, 9, 10]],
  [['--port', '5000-9000'], [2, 5]],
  [['--not', '--port', '443'], [2, 4, 5, 6, 7]],
  [['--proto', 'udp'], [4]],
  [['--proto', 'raw', '--proto', 'UDP'], [4, 7]],
  [['--not', '--proto', 'tcp'], [4, 7]],
  [['--rule', '4097'], [1]],
  [['--rule', '4098', '--rule', '4099'], [2, 4]],
  [['--not', '--rule', '0'], [1, 2, 4, 9]],
  [['--reason', 'default'], [0, 5, 6, 8, 10]],
  [['--reason', 'rule_port', '--reason', 'resolver'], [2, 4]],
  [['--not', '--reason', 'default'], [1, 2, 3, 4, 7, 9]],
  [['--container', 'c0ffee'], [0, 1, 5]],
  [['--container', 'db-2'], [2, 3]],
  [['--container', 'web-1', '--container', 'CAFE0003'], [0, 1, 7]],
  [['--not', '--container', 'c0ffee'], [2, 3, 4, 6, 7, 8, 9, 10]],
  [['--node', 'n2'], [2, 3, 5, 9, 10]],
  [['--not', '--node', 'n2'], [0, 1, 4, 6, 7, 8]],
  [['--node', 'n1', '--node', 'n2', '--not', '--node', 'n2'], [0, 1, 4, 6, 7, 8]],
  [['--since', at(2500)], [3, 4, 5, 6, 7, 8, 9, 10]],
  [['--until', at(5500)], [0, 1, 2, 3, 4, 5]],
  [['--since', at(2500), '--until', at(5500)], [3, 4, 5]],
  [['--verdict', 'denied', '--not', '--agent', 'a1', '--port', '0-1000'], [6, 7, 10]],
];

/** The fixture events (by index) a source returns for `flags`; other tests' events are ignored. */
async function query(source: ResolvedSource, flags: string[]): Promise<number[]> {
  // The window keeps live reads short and every source on the same events.
  const window = flags.some((f) => f === '--since' || f === '--until') ? [] : ['--since', at(-1000)];
  const args = parseQueryArgs('tail', [...flags, ...window, ...(source.kind === 'live' ? ['--no-follow'] : [])]);
  const got: number[] = [];
  const bad: string[] = [];
  await forEachEvent(source, { filter: args.filter }, (e) => {
    if (e.id.startsWith(`${tag}:`)) got.push(Number(e.id.slice(tag.length + 1)));
  }, (why) => bad.push(why));
  expect(bad.filter((b) => b.includes(tag))).toEqual([]);
  return got.sort((a, b) => a - b);
}

beforeAll(async () => {
  s = await openSlice('evfilt');
  tag = s.tag;
  P = s.project;
  Q = `${s.project}-q`;
  fixture = build();
  for (const e of fixture) await s.js.publish(subjects.events(e.project!, e.agent ?? '', e.verdict), JSON.stringify(e));
  storeDir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
  // Two real sinks on the same slice (project P): one writes OpenSearch, one the NDJSON store.
  const [osPort, filePort] = [await freePort(), await freePort()];
  sinks.push(await startSink(s, osPort));
  sinks.push(await startSink(s, filePort, { OPENSEARCH_URL: '', SINK_DATA_DIR: storeDir, SINK_CONSUMER_PREFIX: `${s.consumerPrefix}-file` }));
  const inP = fixture.filter((e) => e.project === P).length;
  await waitForCount(s, 'egress', inP);
  await waitFor(`${inP} events in the NDJSON store`, async () => {
    let n = 0;
    await forEachEvent({ kind: 'file', dir: storeDir }, { filter: { include: [], exclude: [] } }, (e) => void (e.id.startsWith(`${tag}:`) && n++), () => {});
    return n >= inP ? n : undefined;
  });
}, 180_000);

afterAll(async () => {
  for (const p of sinks) await stopService(p, 10_000);
  if (s) {
    for (const src of ['egress', 'dns', 'overseer']) await s.jsm.consumers.delete(src === 'overseer' ? STREAMS.control.name : STREAMS.events.name, `${s.consumerPrefix}-file-${src}`).catch(() => {});
    await s.jsm.streams.purge(STREAMS.events.name, { filter: `sluice.events.${subjects.events(Q, 'x', 'DENIED').split('.')[2]}.>` }).catch(() => {});
    await closeSlice(s);
  }
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

describe('event filters against real events', () => {
  const storedOnly = (ids: number[]) => ids.filter((i) => fixture[i]!.project === P);

  it('live: SLUICE_EVENTS through the subject filter and the matcher', async () => {
    const source: ResolvedSource = { kind: 'live', nats: s.natsUrl, follow: false };
    const results = await Promise.all(cases().map(async ([flags, want]) => [flags, await query(source, flags), want] as const));
    for (const [flags, got, want] of results) expect(got, `live ${flags.join(' ')}`).toEqual(want);
  });

  it('NDJSON store written by the real sink', async () => {
    const source: ResolvedSource = { kind: 'file', dir: storeDir };
    for (const [flags, want] of cases()) expect(await query(source, flags), `file ${flags.join(' ')}`).toEqual(storedOnly(want));
  });

  it('OpenSearch indexed by the real sink: pushed-down query, then the matcher, in time order', async () => {
    const source: ResolvedSource = { kind: 'opensearch', url: s.opensearchUrl, prefix: s.prefix };
    for (const [flags, want] of cases()) expect(await query(source, flags), `opensearch ${flags.join(' ')}`).toEqual(storedOnly(want));
    // Pages of 2 through search_after: every event once, in time order.
    const ids: string[] = [];
    const { opensearchEvents } = await import('./opensearch-source.ts');
    for await (const e of opensearchEvents({ url: s.opensearchUrl, prefix: s.prefix, pageSize: 2 }, { include: [], exclude: [] }, () => {})) ids.push(e.id);
    expect(ids).toEqual(fixture.filter((e) => e.project === P).map((e) => e.id));
  });
});

describe('sluice events on the same events', () => {
  const cli = (argv: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', main, ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

  it('reads OpenSearch by default when OPENSEARCH_URL is set: compact lines in time order, --limit', () => {
    const r = cli(['events', '--project', P, '--verdict', 'denied', '-o', 'compact', '--limit', '2'], { OPENSEARCH_URL: s.opensearchUrl, SINK_INDEX_PREFIX: s.prefix });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${at(0)} \\[n1\\] DENIED connect tcp .*/a1 curl\\[100\\] -> api\\.github\\.com:443 .*reason=default container=web-1$`));
    expect(lines[1]).toContain(`${at(2000)} [n2] DENIED connect tcp`);
    expect(lines[1]).toContain('rule=4098 container=db-2');
  });

  it('reads the NDJSON store by default without OpenSearch: a long label is cut in the table, kept whole with --wide', () => {
    const env = { OPENSEARCH_URL: '', SINK_DATA_DIR: storeDir };
    const r = cli(['events', '--agent', LONG], env);
    expect(r.status, r.stderr).toBe(0);
    const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(header).toMatch(/^TIME\s+VERDICT\s+PROJECT\s+AGENT\s+DESTINATION/);
    // The agent cell ends in an ellipsis and DESTINATION still starts under its title.
    expect(row).toContain('long-agent-λλλλ…');
    expect([...row!].slice(header!.indexOf('DESTINATION')).join('')).toMatch(/^198\.51\.100\.7:443 /);
    const wide = cli(['events', '--agent', LONG, '--wide'], env);
    expect(wide.status, wide.stderr).toBe(0);
    expect(wide.stdout).toContain(LONG);
    const json = cli(['events', '--agent', LONG, '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(fixture[10]);
  });

  it('refuses a bad value naming the flag, exit 2, nothing on stdout', () => {
    const r = cli(['events', '--from-file', storeDir, '--rule', 'x'], {});
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--rule "x": expected a rule id/);
  });
});
