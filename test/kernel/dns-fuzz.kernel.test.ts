// A fuzz corpus of malformed and truncated DNS answers against the kernel parser. Every case is
// sent from a trusted resolver address to a socket in a managed cgroup, followed by a sentinel
// answer; the records between two sentinels are that case's. The kernel must read each case
// exactly as the reference reader (dns-wire.ts, the same rules) does: the same attributions when
// it parses, none when it does not. The sentinels parsing after every case show the program kept
// working; the malformed counter must count exactly the rejected cases. No case answers a query
// the socket asked, so every parsed one is recorded flagged forged (unsolicited) and none may
// reach the name cache.
import { nameHash, type KernelDnsRecord } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './exec.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';
import { buildResponse, readLikeKernel, type RR } from './dns-wire.ts';
import { spawnProbe, type ProbeProc } from './probe-proc.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const RESOLVER = '127.0.0.156';
const sb = new Sandbox('dnsfuzz');
let stream: RecordStream;
let server: DnsServer;
let cg: Cgroup;
let recv: ProbeProc;
let port: number;

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  server = await dnsServer(RESOLVER);
  cg = sb.cgroup('fz');
  await sb.apply(['policy 40', `resolver 40 401 ${RESOLVER}`, `cgroup ${cg.path} 40 enforce`]);
  recv = spawnProbe(cg.path, 'dnsrecv', '127.0.0.1', 120_000);
  port = (await recv.line()).port as number;
});

afterAll(async () => {
  recv?.kill();
  await sb.teardown();
  await server?.close();
});

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const a = (name: string, addr: string, ttl = 60): RR => ({ name, type: 'A', ttl, addr });
const chain: RR[] = [
  { name: 'www.fuzz.test', type: 'CNAME', ttl: 30, target: 'edge.cdn.test' },
  { name: 'edge.cdn.test', type: 'CNAME', ttl: 30, target: 'e2.edge.cdn.test' },
  a('e2.edge.cdn.test', '127.0.0.78'),
  a('e2.edge.cdn.test', '127.0.0.79'),
];
const bases: Buffer[] = [
  buildResponse({ qname: 'api.fuzz.test', answers: [a('api.fuzz.test', '127.0.0.77')] }),
  buildResponse({ qname: 'www.fuzz.test', answers: chain }),
  buildResponse({ qname: 'www.fuzz.test', answers: chain, compress: false }),
  buildResponse({ qname: 'v6.fuzz.test', qtype: 28, answers: [{ name: 'v6.fuzz.test', type: 'AAAA', ttl: 60, addr: '2001:db8::7' }] }),
];

function corpus(): { what: string; msg: Buffer }[] {
  const r = rng(4242);
  const out: { what: string; msg: Buffer }[] = [];
  const b1 = bases[1]!;
  for (let len = 0; len < b1.length; len++) out.push({ what: `truncated to ${len}`, msg: b1.subarray(0, len) });
  for (let i = 0; i < 250; i++) {
    const base = bases[i % bases.length]!;
    const m = Buffer.from(base);
    const flips = 1 + Math.floor(r() * (i % 5 === 0 ? 8 : 2));
    for (let k = 0; k < flips; k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
    out.push({ what: `flip ${i}`, msg: m });
  }
  for (let i = 0; i < 60; i++) {
    const m = Buffer.alloc(Math.floor(r() * 300));
    for (let k = 0; k < m.length; k++) m[k] = Math.floor(r() * 256);
    if (m.length >= 6) [m[2], m[3], m[4], m[5]] = [0x81, 0x80, 0, 1]; // looks like a response
    out.push({ what: `garbage ${i}`, msg: m });
  }
  const crafted = (what: string, edit: (m: Buffer) => Buffer) => out.push({ what, msg: edit(Buffer.from(bases[0]!)) });
  crafted('question label length 64', (m) => ((m[12] = 64), m));
  crafted('question compression pointer', (m) => Buffer.concat([m.subarray(0, 12), Buffer.from([0xc0, 0x0c]), m.subarray(12)]));
  crafted('dot inside a label', (m) => ((m[14] = 0x2e), m));
  crafted('ancount larger than the answers', (m) => ((m[7] = 5), m));
  crafted('rdlength past the end', (m) => ((m[m.length - 5] = 0x40), m));
  crafted('a query, not a response', (m) => ((m[2] = 0x01), m));
  crafted('two questions', (m) => ((m[5] = 2), m));
  crafted('upper-case question (valid)', (m) => Buffer.from(m.toString('latin1').replace('api', 'API'), 'latin1'));
  crafted('ttl with the top bit set (valid, ttl 0)', (m) => ((m[m.length - 10] = 0x80), m));
  out.push({
    what: '70 answers (only 64 read)',
    msg: buildResponse({ qname: 'many.fuzz.test', answers: Array.from({ length: 70 }, (_, i) => a('many.fuzz.test', `127.0.1.${i}`)) }),
  });
  out.push({
    what: 'longer than the 1024-byte window (partial)',
    msg: buildResponse({ qname: 'big.fuzz.test', answers: Array.from({ length: 60 }, (_, i) => a('big.fuzz.test', `127.0.2.${i}`)) }),
  });
  out.push({ what: 'pointer loop in an owner name (never followed)', msg: Buffer.concat([bases[0]!.subarray(0, 31), Buffer.from([0xc0, 31]), bases[0]!.subarray(33)]) });
  return out;
}

const sentinel = (i: number) => buildResponse({ qname: `s${i}.sentinel.test`, answers: [a(`s${i}.sentinel.test`, '127.9.9.9', 5)] });
const answerOf = (d: KernelDnsRecord) => [d.qname, d.answer, d.ttl];

describe('DNS answer fuzz corpus', () => {
  it('never mis-attributes (kernel == reference reader, case by case) and never breaks the parser', async () => {
    const cases = corpus();
    const before = (await sb.stats()).counters;
    let rejected = 0;
    let parsed = 0;
    let cursor = 0;
    const dnsSince = () => stream.records.slice(cursor).filter((x): x is KernelDnsRecord => x.kind === 'dns');
    for (const [i, c] of cases.entries()) {
      await server.send(c.msg, port, '127.0.0.1');
      await server.send(sentinel(i), port, '127.0.0.1');
      const qs = `s${i}.sentinel.test`;
      await until(() => dnsSince().some((d) => d.qname === qs), 5000, `the sentinel after case ${i} (${c.what})`);
      const recs = dnsSince();
      const end = recs.findIndex((d) => d.qname === qs);
      cursor = stream.records.indexOf(recs[end]!) + 1;
      const got = recs.slice(0, end);

      const ref = readLikeKernel(c.msg);
      if (!ref.ok) {
        rejected++;
        expect([c.what, got.map(answerOf)], `case ${i}: rejected (${ref.why})`).toEqual([c.what, []]);
        continue;
      }
      const v6 = (s: string) => s.includes(':');
      const want = ref.answers.length
        ? ref.answers.map((x) => [ref.qname, x.addr, x.ttl])
        : [[ref.qname, '0.0.0.0', 0]];
      expect([c.what, got.map(answerOf)], `case ${i}`).toEqual([c.what, want]);
      for (const d of got) {
        expect(d.domainHash).toBe(nameHash(ref.qname));
        expect(d.family).toBe(v6(d.answer) ? 'ipv6' : 'ipv4');
        expect([d.forged, d.rejected]).toEqual([true, 'unsolicited']);
      }
      parsed++;
    }

    const after = (await sb.stats()).counters;
    expect(rejected).toBeGreaterThan(100);
    expect(after.dns_malformed - before.dns_malformed).toBe(rejected);
    expect(after.drop_ringbuf_full).toBe(0);
    // Every parsed case and every sentinel was unsolicited: counted so, and nothing cached.
    expect(after.dns_unsolicited - before.dns_unsolicited).toBe(parsed + cases.length);
    const cache = (await sb.dump<{ cgroup_id: string }>('dns_cache')).filter((e) => e.cgroup_id === String(cg.id));
    expect(cache).toEqual([]);
  }, 120_000);
});
