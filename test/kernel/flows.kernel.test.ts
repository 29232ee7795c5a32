// Flow records on the real kernel (D7/D29): DENIED at the attempt; ALLOWED TCP once at close with
// application bytes (sock_ops + socket storage), interim records past the active timeout; UDP
// aggregated per (socket, destination) and recorded after the idle window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, sleep, until } from './exec.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';
import { listeners } from './net.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('flows');
const net = listeners();
let stream: RecordStream;
let agent: Cgroup;
let tcp: { port: number; received: number[] };
let closer: number; // server closes first
let udp: { port: number; received: () => number };
const REPLY = 3000;
const ACTIVE_MS = 300;
const IDLE_MS = 400;
const RESOLVER = '127.0.0.155';
let dns: DnsServer;

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  tcp = await net.exchange('127.0.0.2', REPLY);
  closer = await net.tcp('127.0.0.2');
  udp = await net.udp('127.0.0.3');
  dns = await dnsServer(RESOLVER);
  dns.zone.set('q.flows.test', [{ name: 'q.flows.test', type: 'A', ttl: 60, addr: '127.0.0.2' }]);
  agent = sb.cgroup('agent');
  await sb.apply([
    'policy 30',
    'rule 30 301 127.0.0.2/32 * tcp',
    `rule 30 302 127.0.0.3/32 ${udp.port} udp`,
    `resolver 30 303 ${RESOLVER}`,
    `cgroup ${agent.path} 30 enforce`,
    `timeouts ${ACTIVE_MS} ${IDLE_MS}`,
  ]);
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
  await dns?.close();
});

describe('TCP flows', () => {
  it('gives one close record with the exact application bytes both ways and a plausible duration', async () => {
    const t0 = process.hrtime.bigint();
    const [r] = await probe(agent.path, 'tcpflow', '127.0.0.2', tcp.port, 100_000, 0);
    const wall = process.hrtime.bigint() - t0;
    expect(r).toMatchObject({ ok: true, sent: 100_000, received: REPLY });
    const rec = await stream.one(r!.cookie);
    expect(rec).toMatchObject({
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      reason: 'rule',
      ruleId: 301,
      cgroupId: agent.id,
      dstAddr: '127.0.0.2',
      dstPort: tcp.port,
      srcAddr: '127.0.0.1',
      flow: { bytesOut: 100_000n, bytesIn: BigInt(REPLY) },
    });
    expect(rec.srcPort).toBeGreaterThan(0);
    expect(rec.flow!.packetsOut).toBeGreaterThan(0);
    expect(rec.flow!.packetsIn).toBeGreaterThan(0);
    expect(rec.flow!.durationNs).toBeGreaterThan(0n);
    expect(rec.flow!.durationNs).toBeLessThan(wall);
    expect(stream.byCookie(r!.cookie)).toHaveLength(1); // no connect record for an allowed TCP flow
  });

  it('counts exactly when the server closes first (CLOSE_WAIT → LAST_ACK)', async () => {
    const [r] = await probe(agent.path, 'connect', '127.0.0.2', closer);
    const rec = await stream.one(r!.cookie);
    expect(rec).toMatchObject({ kind: 'tcp_close', verdict: 'ALLOWED', flow: { bytesOut: 0n, bytesIn: 0n } });
  });

  it('emits an interim record for a flow open past the active timeout, then the close; together they sum to the flow', async () => {
    const [r] = await probe(agent.path, 'tcpflow', '127.0.0.2', tcp.port, 40_000, ACTIVE_MS + 300);
    expect(r).toMatchObject({ ok: true, sent: 40_000, received: REPLY });
    await until(() => stream.byCookie(r!.cookie).some((x) => x.kind === 'tcp_close'), 5000, 'the close record');
    const recs = stream.byCookie(r!.cookie);
    expect(recs.map((x) => x.kind)[0]).toBe('tcp_interim');
    expect(recs.at(-1)!.kind).toBe('tcp_close');
    const sum = (k: 'bytesOut' | 'bytesIn') => recs.reduce((a, x) => a + x.flow![k], 0n);
    expect(sum('bytesOut')).toBe(40_000n);
    expect(sum('bytesIn')).toBe(BigInt(REPLY));
    expect(recs[0]!.flow!.bytesOut).toBeGreaterThanOrEqual(20_000n); // the first half went before the pause
    expect(recs[0]!.flow!.durationNs).toBeGreaterThanOrEqual(BigInt(ACTIVE_MS) * 1_000_000n);
  });

  it('still records a refused connect (at close, zero bytes)', async () => {
    const [r] = await probe(agent.path, 'connect', '127.0.0.2', 1);
    expect(r).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(await stream.one(r!.cookie)).toMatchObject({ kind: 'tcp_close', verdict: 'ALLOWED', flow: { bytesOut: 0n, bytesIn: 0n } });
  });

  it('records an allowed connect that failed before the SYN when the socket is released', async () => {
    // A v6-only socket to a mapped address: the connect hook allows it (the IPv4 decision), then
    // tcp_v6_connect refuses it; sock_ops never sees it.
    const [r] = await probe(agent.path, 'v6onlyconnect', '::ffff:127.0.0.2', closer);
    expect(r).toMatchObject({ ok: false, error: 'ENETUNREACH' });
    expect(await stream.one(r!.cookie)).toMatchObject({
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      ruleId: 301,
      family: 'ipv6',
      v4mapped: true,
      dstAddr: '::ffff:127.0.0.2',
      flow: { bytesOut: 0n, bytesIn: 0n },
    });
  });

  it('records a denied connect at the attempt', async () => {
    const [r] = await probe(agent.path, 'connect', '127.0.0.4', 80);
    expect(r).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(r!.cookie)).toMatchObject({ kind: 'connect', verdict: 'DENIED' });
  });
});

describe('UDP flows', () => {
  it('aggregates sends on one socket to one destination into one record after the idle window', async () => {
    const [r] = await probe(agent.path, 'sendburst', '127.0.0.3', udp.port, 25, 0);
    expect(r).toMatchObject({ outcomes: { OK: 25 } });
    await until(() => udp.received() >= 25, 5000, 'the datagrams');
    const rec = await stream.waitFor((x) => x.kind === 'udp_flow' && x.pid === (r as unknown as { pid: number }).pid, 5000, 'the udp_flow record');
    expect(rec).toMatchObject({
      verdict: 'ALLOWED',
      reason: 'rule',
      ruleId: 302,
      l4Proto: 17,
      dstAddr: '127.0.0.3',
      dstPort: udp.port,
      flow: { bytesOut: 25n, packetsOut: 25, bytesIn: 0n },
    });
    await sleep(IDLE_MS + 200);
    expect(stream.kernel.filter((x) => x.socketCookie === rec.socketCookie)).toHaveLength(1);
    expect(stream.kernel.filter((x) => x.kind === 'sendmsg' && x.pid === rec.pid)).toHaveLength(0);
  });

  it('records a connected UDP socket that sent nothing (the attempt stays visible)', async () => {
    const [r] = await probe(agent.path, 'udpconnect', '127.0.0.3', udp.port);
    expect(r).toMatchObject({ ok: true });
    const rec = await stream.one(r!.cookie, 5000);
    expect(rec).toMatchObject({ kind: 'udp_flow', verdict: 'ALLOWED', flow: { bytesOut: 0n, packetsOut: 0 } });
  });

  it('counts both directions of a connected UDP exchange (a DNS query to the resolver)', async () => {
    const name = 'q.flows.test';
    const [r] = await probe(agent.path, 'resolve', RESOLVER, name, 'a');
    expect(r).toMatchObject({ ok: true });
    const rec = await stream.one(r!.cookie, 5000);
    expect(rec).toMatchObject({
      kind: 'udp_flow',
      verdict: 'ALLOWED',
      reason: 'resolver',
      dstPort: 53,
      flow: { bytesOut: BigInt(12 + name.length + 2 + 4), packetsOut: 1, bytesIn: BigInt((r as unknown as { bytes: number }).bytes), packetsIn: 1 },
    });
  });
});
