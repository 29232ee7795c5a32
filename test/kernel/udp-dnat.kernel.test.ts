// DNS through a DNAT, as Docker's embedded resolver does it: the container sends to
// 127.0.0.11:53, the OUTPUT chain rewrites that to 127.0.0.11:<port>, the answer comes back
// un-NATed from :53. cgroup_skb egress sees the packet after the rewrite. The query must still be
// recorded (so its answer is believed and the connect allowed by host), the query's bytes counted
// (UDP bytes out were 0 before, issue #14), and the UDP socket's aggregate recorded when it closes,
// not an idle window later (the window here is a minute).
import { nameHash } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, jsonLines, run, until } from './exec.ts';
import { Netns } from './netns.ts';
import { spawnLines } from './probe-proc.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const NAME = 'api.dnat.test';
const sb = new Sandbox('dnat');
const ns = new Netns('dnat');
let stream: RecordStream;
let cg: Cgroup;
const port = 42000 + (process.pid % 20000);

beforeAll(async () => {
  await ns.create();
  await ns.sh('iptables', ['-t', 'nat', '-A', 'OUTPUT', '-d', '127.0.0.11/32', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '127.0.0.11:5353']);
  await sb.setup();
  stream = sb.stream();
  cg = sb.cgroup('agent');
  await sb.apply([
    'policy 60',
    'resolver 60 601 127.0.0.11',
    `host 60 602 ${NAME} * tcp`,
    'host 60 603 *.bulk.dnat.test * tcp',
    'resolver 60 604 fd00::11',
    'timeouts 300000 60000',
    `cgroup ${cg.path} 60 enforce`,
  ]);
  const dns = spawnLines(...split(ns.root(['dnsserve', '127.0.0.11', 5353, '127.0.0.77', 60_000])));
  await dns.line();
  spawnLines(...split(ns.root(['serve', '127.0.0.77', port, 60_000])));
  const dns6 = spawnLines(...split(ns.root(['dnsserve', 'fd00::11', 53, '127.0.0.77', 60_000])));
  await dns6.line();
}, 60_000);

afterAll(async () => {
  await sb.teardown();
  await ns.destroy();
});

const split = (argv: string[]): [string, string[]] => [argv[0]!, argv.slice(1)];

describe('DNS through a DNAT (Docker embedded resolver)', () => {
  it('believes the answer, allows the connect by host, and counts the query bytes both ways at close', async () => {
    const argv = ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.path, ...ns.enter([PROBE, 'resolve', '127.0.0.11', NAME, 'a', 'connect', '127.0.0.77', String(port)])];
    const r = await run(argv[0]!, argv.slice(1));
    expect(r.code, r.stderr).toBe(0);
    const [res, conn] = jsonLines<{ ok: boolean; cookie: string; bytes: number }>(r.stdout);
    expect(res).toMatchObject({ ok: true });
    expect(conn).toMatchObject({ ok: true });
    expect(await stream.one(conn!.cookie)).toMatchObject({ kind: 'tcp_close', verdict: 'ALLOWED', reason: 'host', domainHash: nameHash(NAME) });
    const d = await until(() => stream.dns.find((x) => x.socketCookie === BigInt(res!.cookie)), 5000, 'the DNS record');
    expect(d).toMatchObject({ forged: false, rejected: 'ok', qname: NAME, answer: '127.0.0.77', resolverAddr: '127.0.0.11' });
    // Recorded at the socket's close, long before the 60 s idle window.
    const flow = await stream.one(res!.cookie, 3000);
    expect(flow).toMatchObject({
      kind: 'udp_flow',
      reason: 'resolver',
      dstAddr: '127.0.0.11',
      dstPort: 53,
      flow: { bytesOut: BigInt(12 + NAME.length + 2 + 4), packetsOut: 1, bytesIn: BigInt(res!.bytes), packetsIn: 1 },
    });
  });

  it('1,000 fresh names through the DNAT: every connect ALLOWED by the host rule, carrying its own name', async () => {
    const N = 1000;
    const argv = ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.path, ...ns.enter([PROBE, 'resolveconnect', '127.0.0.11', 'n%d.bulk.dnat.test', String(N), String(port)])];
    const r = await run(argv[0]!, argv.slice(1));
    expect(r.code, r.stderr).toBe(0);
    const [res] = jsonLines<{ outcomes: Record<string, number>; pid: number }>(r.stdout);
    expect(res!.outcomes).toEqual({ resolved: N, OK: N, ECONNREFUSED: 0, other: 0 });
    const want = new Set(Array.from({ length: N }, (_, i) => nameHash(`n${i}.bulk.dnat.test`)));
    const closes = () => stream.kernel.filter((x) => x.pid === res!.pid && x.kind === 'tcp_close');
    await until(() => closes().length >= N, 10_000, `${N} tcp_close records`);
    for (const c of closes()) expect([c.verdict, c.reason, c.ruleId, want.has(c.domainHash)]).toEqual(['ALLOWED', 'host', 603, true]);
    expect(new Set(closes().map((c) => c.domainHash)).size).toBe(N);
  }, 60_000);

  it('matches queries and answers over an IPv6 resolver too', async () => {
    const argv = ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.path, ...ns.enter([PROBE, 'resolve', 'fd00::11', 'v6.bulk.dnat.test', 'a', 'connect', '127.0.0.77', String(port)])];
    const r = await run(argv[0]!, argv.slice(1));
    expect(r.code, r.stderr).toBe(0);
    const [res, conn] = jsonLines<{ ok: boolean; cookie: string }>(r.stdout);
    expect([res!.ok, conn!.ok]).toEqual([true, true]);
    const d = await until(() => stream.dns.find((x) => x.socketCookie === BigInt(res!.cookie)), 5000, 'the DNS record');
    expect(d).toMatchObject({ forged: false, rejected: 'ok', resolverAddr: 'fd00::11', family: 'ipv6' });
    expect(await stream.one(conn!.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'host', domainHash: nameHash('v6.bulk.dnat.test') });
  });
});
