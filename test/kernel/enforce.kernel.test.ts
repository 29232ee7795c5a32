// Enforcement on the real kernel: a probe process in a cgroup under the managed scope connects
// and sends to loopback listeners; every verdict is checked both as the errno the process sees
// and as the record the kernel emitted (matched by socket cookie).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, until, type ProbeResult } from './exec.ts';
import { listeners } from './net.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('enforce');
const net = listeners();
let stream: RecordStream;
let agent: Cgroup;
let unassigned: Cgroup;
let nested: Cgroup;
let lo: Cgroup;
let tcpA: number; // 127.0.0.2, allowed by rule 101
let tcpB: number; // 127.0.0.3, CIDR has rule 102 but for ports 9-10 only
let tcp6: number; // ::1, allowed by rule 103
let udpA: { port: number; received: () => number }; // 127.0.0.2, allowed by rule 104
let udpB: { port: number; received: () => number }; // 127.0.0.3, not allowed

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  [tcpA, tcpB, tcp6, udpA, udpB] = await Promise.all([
    net.tcp('127.0.0.2'),
    net.tcp('127.0.0.3'),
    net.tcp('::1'),
    net.udp('127.0.0.2'),
    net.udp('127.0.0.3'),
  ]);
  agent = sb.cgroup('agent');
  unassigned = sb.cgroup('unassigned');
  lo = sb.cgroup('lo');
  await sb.apply([
    'policy 10',
    `rule 10 101 127.0.0.2/32 ${tcpA} tcp`,
    `rule 10 102 127.0.0.3/32 9-10 tcp`,
    `rule 10 103 ::1/128 ${tcp6} tcp`,
    `rule 10 104 127.0.0.2/32 ${udpA.port} udp`,
    'resolver 10 105 127.0.0.53',
    'policy 11 loopback',
    `cgroup ${agent.path} 10 enforce`,
    `cgroup ${lo.path} 11 enforce`,
    // Allowed UDP is aggregated per (socket, destination) and recorded after the idle window:
    // keep it short so the records of allowed sends arrive within a test.
    'timeouts 60000 200',
  ]);
  // Created after attach and two levels down: still covered by the scope's links.
  nested = sb.cgroup('team/inner');
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
});

async function one(cg: Cgroup, ...op: (string | number)[]): Promise<ProbeResult> {
  const [r] = await probe(cg.path, ...op);
  return r!;
}

describe('connect4 / connect6 / sendmsg4 / sendmsg6', () => {
  it('allows a connect to an allowed IP:port and records ALLOWED with the rule id (at close)', async () => {
    const r = await one(agent, 'connect', '127.0.0.2', tcpA);
    expect(r).toMatchObject({ ok: true, errno: 0 });
    const rec = await stream.one(r.cookie);
    expect(rec).toMatchObject({
      kind: 'tcp_close',
      verdict: 'ALLOWED',
      reason: 'rule',
      ruleId: 101,
      policyId: 10,
      mode: 'enforce',
      audit: false,
      defaultPolicy: false,
      cgroupId: agent.id,
      family: 'ipv4',
      l4Proto: 6,
      dstAddr: '127.0.0.2',
      dstPort: tcpA,
      pid: r.pid,
      comm: 'probe',
    });
    expect(rec.tsNs).toBeGreaterThan(0n);
  });

  it('denies other destinations with EPERM and records DENIED with default or the rule whose ports missed', async () => {
    const other = await one(agent, 'connect', '127.0.0.4', tcpA);
    expect(other).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(other.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default', ruleId: 0, dstAddr: '127.0.0.4' });

    const port = await one(agent, 'connect', '127.0.0.3', tcpB);
    expect(port).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(port.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'rule_port', ruleId: 102 });
  });

  it('judges IPv6 the same way (::1)', async () => {
    const ok = await one(agent, 'connect', '::1', tcp6);
    expect(ok).toMatchObject({ ok: true });
    expect(await stream.one(ok.cookie)).toMatchObject({ verdict: 'ALLOWED', ruleId: 103, family: 'ipv6', dstAddr: '::1', v4mapped: false });
    const no = await one(agent, 'connect', '::1', tcpA);
    expect(no).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(no.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'rule_port', ruleId: 103, family: 'ipv6' });
  });

  it('gives IPv4-mapped IPv6 from an AF_INET6 socket exactly the IPv4 decision', async () => {
    const cases: [string, number, string][] = [
      ['127.0.0.2', tcpA, 'connect'],
      ['127.0.0.3', tcpB, 'connect'],
      ['127.0.0.4', tcpA, 'connect'],
      ['127.0.0.2', udpA.port, 'sendto'],
      ['127.0.0.2', tcpA, 'sendto'],
      ['127.0.0.3', udpB.port, 'sendto'],
      ['127.0.0.53', 53, 'sendto'],
    ];
    for (const [addr, port, op] of cases) {
      const v4 = await one(agent, op, addr, port);
      const v6 = await one(agent, op, `::ffff:${addr}`, port);
      const [r4, r6] = [await stream.one(v4.cookie), await stream.one(v6.cookie)];
      const what = `${op} ${addr}:${port}`;
      expect([what, v6.errno], 'errno').toEqual([what, v4.errno]);
      expect([what, r6.verdict, r6.reason, r6.ruleId], 'decision').toEqual([what, r4.verdict, r4.reason, r4.ruleId]);
      expect(r6).toMatchObject({ family: 'ipv6', v4mapped: true, dstAddr: `::ffff:${addr}`, dstPort: port });
      expect(r4).toMatchObject({ family: 'ipv4', v4mapped: false, dstAddr: addr });
    }
  });

  it('allows and denies UDP sends likewise, and only allowed datagrams arrive', async () => {
    const ok = await one(agent, 'sendto', '127.0.0.2', udpA.port);
    expect(ok).toMatchObject({ ok: true });
    expect(await stream.one(ok.cookie)).toMatchObject({ kind: 'udp_flow', verdict: 'ALLOWED', reason: 'rule', ruleId: 104, l4Proto: 17 });

    const no = await one(agent, 'sendto', '127.0.0.3', udpB.port);
    expect(no).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(no.cookie)).toMatchObject({ kind: 'sendmsg', verdict: 'DENIED', reason: 'rule_port', ruleId: 102 });

    // UDP to the TCP-only port of an allowed address: the protocol must match too.
    const proto = await one(agent, 'sendto', '127.0.0.2', tcpA);
    expect(proto).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(proto.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'rule_port', ruleId: 101 });

    const connected = await one(agent, 'udpconnect', '127.0.0.3', udpB.port);
    expect(connected).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(connected.cookie)).toMatchObject({ kind: 'connect', verdict: 'DENIED', l4Proto: 17 });

    // The allowed datagram arriving is the condition; the refused one had its chance by then.
    await until(() => (udpA.received() >= 1 ? true : undefined), 5000, 'the allowed datagram');
    expect(udpB.received()).toBe(0);
  });

  it('judges TCP Fast Open (sendto with MSG_FASTOPEN, no connect) like a connect', async () => {
    const no = await one(agent, 'fastopen', '127.0.0.4', tcpA);
    expect(no).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(no.cookie)).toMatchObject({ kind: 'connect', verdict: 'DENIED', dstAddr: '127.0.0.4' });
    const ok = await one(agent, 'fastopen', '127.0.0.2', tcpA);
    expect(ok.error).not.toBe('EPERM');
    expect(await stream.one(ok.cookie)).toMatchObject({ kind: 'tcp_close', verdict: 'ALLOWED', ruleId: 101 });
  });

  it('allows DNS only to the policy resolver', async () => {
    const dns = await one(agent, 'sendto', '127.0.0.53', 53);
    expect(dns).toMatchObject({ ok: true });
    expect(await stream.one(dns.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'resolver', ruleId: 105 });
    const other = await one(agent, 'sendto', '127.0.0.54', 53);
    expect(other).toMatchObject({ ok: false, error: 'EPERM' });
    const port = await one(agent, 'sendto', '127.0.0.53', 54);
    expect(port).toMatchObject({ ok: false, error: 'EPERM' });
  });

  it('allows loopback only for a policy that says so', async () => {
    const a = await one(lo, 'connect', '127.0.0.3', tcpB);
    const b = await one(lo, 'connect', '::1', tcp6);
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(await stream.one(a.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'loopback', policyId: 11 });
    expect(await stream.one(b.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'loopback' });
    // ...while policy 10, without the flag, denies the same loopback destination.
    expect(await one(agent, 'connect', '127.0.0.3', tcpB)).toMatchObject({ ok: false, error: 'EPERM' });
  });
});

describe('the managed scope', () => {
  it('fails closed: a cgroup without an entry gets the default policy (deny all unless configured)', async () => {
    const r = await one(unassigned, 'connect', '127.0.0.2', tcpA);
    expect(r).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(r.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default', policyId: 0, defaultPolicy: true });

    await sb.apply(['default 10 enforce']);
    const after = await one(unassigned, 'connect', '127.0.0.2', tcpA);
    expect(after).toMatchObject({ ok: true });
    expect(await stream.one(after.cookie)).toMatchObject({ verdict: 'ALLOWED', policyId: 10, ruleId: 101, defaultPolicy: true });
    await sb.apply(['default 0 enforce']);
    expect(await one(unassigned, 'connect', '127.0.0.2', tcpA)).toMatchObject({ ok: false, error: 'EPERM' });
  });

  it('covers every descendant, including cgroups created after attach', async () => {
    const r = await one(nested, 'connect', '127.0.0.2', tcpA);
    expect(r).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await stream.one(r.cookie)).toMatchObject({ cgroupId: nested.id, verdict: 'DENIED' });
    await sb.apply([`cgroup ${nested.path} 10 enforce`]);
    expect(await one(nested, 'connect', '127.0.0.2', tcpA)).toMatchObject({ ok: true });
  });
});

describe('sock_create', () => {
  it('refuses raw IP sockets (v4 and v6) in an enforced cgroup and records it', async () => {
    const [r4, r6] = await probe(agent.path, 'raw', '4', 'raw', '6');
    expect(r4).toMatchObject({ ok: false, error: 'EPERM' });
    expect(r6).toMatchObject({ ok: false, error: 'EPERM' });
    const recs = await stream.waitFor((x) => x.kind === 'sock_create' && x.pid === r4!.pid && x.family === 'ipv6');
    expect(recs).toMatchObject({ verdict: 'DENIED', reason: 'raw_socket', sock: { type: 3, protocol: 58 }, cgroupId: agent.id });
    const v4 = stream.kernel.filter((x) => x.kind === 'sock_create' && x.pid === r4!.pid && x.family === 'ipv4');
    expect(v4).toHaveLength(1);
    expect(v4[0]).toMatchObject({ verdict: 'DENIED', sock: { type: 3, protocol: 1 } });
  });

  it('does NOT stop AF_PACKET (residual gap: sock_create sees inet sockets only; agents must drop CAP_NET_RAW)', async () => {
    const [p] = await probe(agent.path, 'packet');
    // If this ever fails, the kernel started covering AF_PACKET: update the README's residual gaps.
    expect(p).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(stream.kernel.filter((x) => x.pid === p!.pid)).toEqual([]);
  });
});
