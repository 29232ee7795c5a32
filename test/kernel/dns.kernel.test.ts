// In-kernel DNS attribution and host rules on the real kernel. A DNS server of our own on
// 127.0.0.153:53 answers; a probe in a managed cgroup resolves and connects right after. The
// cgroup_skb ingress program must have cached (cgroup, address) → name before recv returned,
// so the connect is attributed and judged by host rules with no race.
import { nameHash } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, sleep, until, type ProbeResult } from './exec.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';
import { buildResponse } from './dns-wire.ts';
import { listeners } from './net.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';
import { spawnProbe } from './probe-proc.ts';

const RESOLVER = '127.0.0.153';
const UNTRUSTED = '127.0.0.154';
const sb = new Sandbox('dns');
const net = listeners();
let stream: RecordStream;
let dns: DnsServer;
let rogue: DnsServer;
let one: Cgroup; // *.example.test
let any: Cgroup; // **.example.test
let other: Cgroup; // *.example.test, never resolves
const port: Record<string, number> = {};

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  dns = await dnsServer(RESOLVER);
  rogue = await dnsServer(UNTRUSTED);
  const z = dns.zone;
  z.set('api.example.test', [{ name: 'api.example.test', type: 'A', ttl: 300, addr: '127.0.0.5' }]);
  z.set('a.b.example.test', [{ name: 'a.b.example.test', type: 'A', ttl: 300, addr: '127.0.0.6' }]);
  z.set('api.outside.test', [{ name: 'api.outside.test', type: 'A', ttl: 300, addr: '127.0.0.7' }]);
  z.set('www.example.test', [
    { name: 'www.example.test', type: 'CNAME', ttl: 300, target: 'edge.cdn.test' },
    { name: 'edge.cdn.test', type: 'CNAME', ttl: 300, target: 'e1.edge.cdn.test' },
    { name: 'e1.edge.cdn.test', type: 'A', ttl: 60, addr: '127.0.0.8' },
    { name: 'e1.edge.cdn.test', type: 'A', ttl: 60, addr: '127.0.0.10' },
  ]);
  z.set('short.example.test', [{ name: 'short.example.test', type: 'A', ttl: 1, addr: '127.0.0.9' }]);
  z.set('v6.example.test', [{ name: 'v6.example.test', type: 'AAAA', ttl: 300, addr: '::1' }]);
  for (const a of ['127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9', '127.0.0.11', '::1']) port[a] = await net.tcp(a);
  one = sb.cgroup('one');
  any = sb.cgroup('any');
  other = sb.cgroup('other');
  await sb.apply([
    'policy 20',
    `resolver 20 201 ${RESOLVER}`,
    'host 20 202 *.example.test * tcp',
    'policy 21',
    `resolver 21 211 ${RESOLVER}`,
    'host 21 212 **.example.test * tcp',
    `cgroup ${one.path} 20 enforce`,
    `cgroup ${any.path} 21 enforce`,
    `cgroup ${other.path} 20 enforce`,
  ]);
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
  await dns?.close();
  await rogue?.close();
});

/** Resolve then connect in one probe process: the connect follows the answer immediately. */
async function resolveThenConnect(cg: Cgroup, name: string, addr: string, qtype = 'a'): Promise<[ProbeResult, ProbeResult]> {
  const [r, c] = await probe(cg.path, 'resolve', RESOLVER, name, qtype, 'connect', addr, port[addr]!);
  expect(r).toMatchObject({ op: 'resolve', ok: true });
  return [r!, c!];
}

describe('DNS answers → (cgroup, address) → name, before the answer reaches the socket', () => {
  it('attributes the next connect and allows it by *.example.test; the DNS record carries the answer', async () => {
    const [r, c] = await resolveThenConnect(one, 'api.example.test', '127.0.0.5');
    expect(c).toMatchObject({ ok: true });
    const rec = await stream.one(c.cookie);
    expect(rec).toMatchObject({
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      reason: 'host',
      ruleId: 202,
      policyId: 20,
      domainHash: nameHash('api.example.test'),
      hostStale: false,
      cgroupId: one.id,
      dstAddr: '127.0.0.5',
    });
    await until(() => stream.dns.some((x) => x.socketCookie === BigInt(r.cookie)), 5000, 'the DNS record');
    const d = stream.dns.filter((x) => x.socketCookie === BigInt(r.cookie));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({
      kind: 'dns',
      qname: 'api.example.test',
      qtype: 1,
      rcode: 0,
      answer: '127.0.0.5',
      resolverAddr: RESOLVER,
      ttl: 300,
      answerIndex: 0,
      answerCount: 1,
      cgroupId: one.id,
      domainHash: nameHash('api.example.test'),
      qnameTruncated: false,
    });
  });

  it('denies a.b.example.test under *.example.test (two labels more) but allows it under **.example.test', async () => {
    const [, denied] = await resolveThenConnect(one, 'a.b.example.test', '127.0.0.6');
    expect(denied).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(denied.cookie)).toMatchObject({
      kind: 'connect',
      verdict: 'DENIED',
      reason: 'default',
      domainHash: nameHash('a.b.example.test'),
    });
    const [, allowed] = await resolveThenConnect(any, 'a.b.example.test', '127.0.0.6');
    expect(allowed).toMatchObject({ ok: true });
    expect(await stream.one(allowed.cookie)).toMatchObject({
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      reason: 'host',
      ruleId: 212,
      domainHash: nameHash('a.b.example.test'),
    });
  });

  it('denies a name outside the rules, attributed', async () => {
    const [, c] = await resolveThenConnect(one, 'api.outside.test', '127.0.0.7');
    expect(c).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(c.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default', domainHash: nameHash('api.outside.test') });
  });

  it('gives a cgroup that did not resolve no attribution for the same address (and no host rule)', async () => {
    const [c] = await probe(other.path, 'connect', '127.0.0.5', port['127.0.0.5']!);
    expect(c).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(c!.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default', domainHash: 0n, cgroupId: other.id });
  });

  it('attributes a CNAME chain (compressed names) to the queried name, one DNS record per address', async () => {
    const [r, c] = await resolveThenConnect(one, 'www.example.test', '127.0.0.8');
    expect(c).toMatchObject({ ok: true });
    expect(await stream.one(c.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'host', domainHash: nameHash('www.example.test') });
    await until(() => stream.dns.filter((x) => x.socketCookie === BigInt(r.cookie)).length >= 2, 5000, 'two DNS records');
    const d = stream.dns.filter((x) => x.socketCookie === BigInt(r.cookie));
    expect(d.map((x) => [x.qname, x.answer, x.answerIndex, x.answerCount, x.ttl])).toEqual([
      ['www.example.test', '127.0.0.8', 0, 4, 60],
      ['www.example.test', '127.0.0.10', 1, 4, 60],
    ]);
  });

  it('attributes AAAA answers and IPv6 connects', async () => {
    const [r, c] = await resolveThenConnect(one, 'v6.example.test', '::1', 'aaaa');
    expect(c).toMatchObject({ ok: true });
    expect(await stream.one(c.cookie)).toMatchObject({ family: 'ipv6', verdict: 'ALLOWED', reason: 'host', domainHash: nameHash('v6.example.test') });
    const d = stream.dns.find((x) => x.socketCookie === BigInt(r.cookie));
    expect(d).toMatchObject({ family: 'ipv6', qtype: 28, answer: '::1', resolverAddr: '::ffff:127.0.0.153' });
  });

  it('keeps a name past its TTL attached, flagged stale', async () => {
    await probe(one.path, 'resolve', RESOLVER, 'short.example.test', 'a');
    await sleep(1200);
    const [c] = await probe(one.path, 'connect', '127.0.0.9', port['127.0.0.9']!);
    expect(c).toMatchObject({ ok: true });
    expect(await stream.one(c!.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'host', domainHash: nameHash('short.example.test'), hostStale: true });
  });

  it('records NXDOMAIN as one DNS record without an address', async () => {
    const [r] = await probe(one.path, 'resolve', RESOLVER, 'nope.example.test', 'a');
    await until(() => stream.dns.some((x) => x.socketCookie === BigInt(r!.cookie)), 5000, 'the NXDOMAIN record');
    const d = stream.dns.filter((x) => x.socketCookie === BigInt(r!.cookie));
    expect(d.map((x) => [x.qname, x.rcode, x.answerCount, x.answer])).toEqual([['nope.example.test', 3, 0, '0.0.0.0']]);
  });

  it('records but never caches answers from a server that is not a resolver of the policy', async () => {
    const p = spawnProbe(one.path, 'dnsrecv', '127.0.0.1', 2000);
    const ready = await p.line();
    await rogue.send(buildResponse({ qname: 'api.example.test', answers: [{ name: 'api.example.test', type: 'A', ttl: 300, addr: '127.0.0.11' }] }), ready.port as number, '127.0.0.1');
    await until(() => stream.dns.some((x) => x.answer === '127.0.0.11'), 5000, 'the untrusted answer record');
    expect(stream.dns.filter((x) => x.answer === '127.0.0.11')).toHaveLength(1);
    const [c] = await probe(one.path, 'connect', '127.0.0.11', port['127.0.0.11']!);
    expect(c).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(c!.cookie)).toMatchObject({ verdict: 'DENIED', domainHash: 0n });
    expect((await sb.stats()).counters.dns_untrusted).toBeGreaterThanOrEqual(1);
    await p.done;
  });
});
