// Forged DNS answers must never teach the kernel a name. Each test FAILS IF THE ATTACK SUCCEEDS:
// a connect to the forged address allowed, or attributed to the forged name. Each also asserts
// its precondition, so it cannot pass because the attack never happened: the forged datagram
// reached the socket, the bind call was made (and works outside the scope).
//
// The resolver is 127.0.0.11, local to the namespace as on a Docker network. The agent asks it
// for evil.corp.test (a host rule allows it) while nothing real answers; the forged answer says
// 192.0.2.66 (on the namespace's loopback), an address no rule allows. The policy allows loopback,
// as agents' policies commonly do, so the agent may send its forgery to its own socket (issue #14
// reproduced it exactly so on the build before). A believed forgery would make that connect
// ALLOWED/host.
import { nameHash } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../kernel/exec.ts';
import type { RecordStream } from '../kernel/record-stream.ts';
import { Sandbox, type Cgroup } from '../kernel/sandbox.ts';
import { CAP_SETS, exec, Netns, spawn, type Caps } from './agent.ts';

const RESOLVER = '127.0.0.11';
const EVIL = 'evil.corp.test';
const FORGED = '192.0.2.66';
const sb = new Sandbox('bypass-dns');
const ns = new Netns('dns');
let stream: RecordStream;
let listenPort: number;
const cg: Record<string, Cgroup> = {};

beforeAll(async () => {
  await ns.create();
  await sb.setup();
  stream = sb.stream();
  for (const c of [...CAP_SETS, 'control']) cg[c] = sb.cgroup(c);
  await sb.apply([
    'policy 70 loopback',
    `resolver 70 701 ${RESOLVER}`,
    `host 70 702 ${EVIL} * tcp`,
    ...Object.values(cg).map((c) => `cgroup ${c.path} 70 enforce`),
  ]);
  // A listener at the forged address, so an allowed connect would succeed (root, outside the scope).
  listenPort = 40000 + (process.pid % 20000);
  spawn(ns.root(['serve', FORGED, listenPort, 120_000]));
}, 60_000);

afterAll(async () => {
  await sb.teardown();
  await ns.destroy();
});

/** An agent socket that asked nothing (dnsrecv) or asked `name` with `txid` (dnsask). */
async function victim(c: Cgroup, caps: Caps, asks?: { name: string; txid: number }) {
  const ops = asks ? ['dnsask', RESOLVER, asks.name, asks.txid, 1500] : ['dnsrecv', '127.0.0.1', 1500];
  const p = spawn(ns.agent(c.path, caps, ops));
  const ready = await p.line();
  expect(ready).toMatchObject(asks ? { op: 'asked', ok: true } : { op: 'ready' });
  return { port: ready.port as number, cookie: BigInt(ready.cookie as string), done: p.done };
}

/** What someone who got hold of <resolver>:53 (root, outside the scope) sends. */
async function forge(port: number, name: string, txid: number): Promise<void> {
  const [b, s] = await exec(ns.root(['dnsforge', RESOLVER, '127.0.0.1', port, name, FORGED, txid]));
  expect(b).toMatchObject({ op: 'dnsforge_bind', ok: true });
  expect(s).toMatchObject({ op: 'dnsforge_send', ok: true });
}

/** The forged record for `cookie`, and the precondition: the datagram reached the socket. */
async function forgedRecord(v: { cookie: bigint; done: Promise<Record<string, unknown>[]> }) {
  const lines = await v.done;
  expect(lines.at(-1)!.received ?? lines.at(-1)!.total, 'the forged datagram reached the socket').toBeGreaterThanOrEqual(1);
  return until(() => stream.dns.find((d) => d.socketCookie === v.cookie), 5000, 'the DNS record of the forged answer');
}

/** The attack's goal: a connect to the forged address from the same cgroup. Must stay DENIED, unattributed. */
async function connectFails(c: Cgroup, caps: Caps): Promise<void> {
  const [r] = await exec(ns.agent(c.path, caps, ['connect', FORGED, listenPort]));
  expect(r).toMatchObject({ op: 'connect', ok: false, error: 'EPERM' });
  expect(await stream.one(r!.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default', domainHash: 0n, cgroupId: c.id });
}

describe.each(CAP_SETS)('forged DNS answers, agent with %s capabilities', (caps) => {
  it('cannot bind the resolver address or port 53 to answer itself (issue #14, finding 1)', async () => {
    const c = cg[caps]!;
    // Control: outside the scope the same unprivileged process can (Docker's sysctl).
    const [ctl] = await exec(ns.control(caps, ['bind', RESOLVER, 53, 'udp']));
    expect(ctl, 'precondition: binding 127.0.0.11:53 works without Sluice').toMatchObject({ ok: true });
    const before = (await sb.stats()).counters.bind_denied;
    const v = await victim(c, caps, { name: EVIL, txid: 4242 });
    const tries = await exec(
      ns.agent(c.path, caps, [
        'dnsforge', RESOLVER, '127.0.0.1', v.port, EVIL, FORGED, 4242,
        'bind', '0.0.0.0', 53, 'udp', 'bind', '::', 53, 'udp', 'bind', '127.0.0.12', 53, 'tcp', 'bind', RESOLVER, 0, 'udp',
      ]),
    );
    expect(tries.map((t) => [t.op, t.error])).toEqual([
      ['dnsforge_bind', 'EPERM'],
      ['bind', 'EPERM'],
      ['bind', 'EPERM'],
      ['bind', 'EPERM'],
      ['bind', 'EPERM'],
    ]);
    expect((await sb.stats()).counters.bind_denied - before).toBe(5);
    const rec = await stream.waitFor((r) => r.kind === 'bind' && r.socketCookie === BigInt(tries[0]!.cookie));
    expect(rec).toMatchObject({ verdict: 'DENIED', reason: 'dns_bind', dstAddr: RESOLVER, dstPort: 53, cgroupId: c.id });
    await v.done;
    await connectFails(c, caps);
  });

  it('an answer to a question the socket never asked is recorded as forged, never believed', async () => {
    const c = cg[caps]!;
    const v = await victim(c, caps);
    await forge(v.port, EVIL, 7);
    expect(await forgedRecord(v)).toMatchObject({ forged: true, rejected: 'unsolicited', qname: EVIL, answer: FORGED, cgroupId: c.id });
    await connectFails(c, caps);
  });

  it('an answer with the wrong id is refused', async () => {
    const c = cg[caps]!;
    const v = await victim(c, caps, { name: EVIL, txid: 1111 });
    await forge(v.port, EVIL, 2222);
    expect(await forgedRecord(v)).toMatchObject({ forged: true, rejected: 'mismatch', qname: EVIL });
    await connectFails(c, caps);
  });

  it('an answer to another question (same id) is refused', async () => {
    const c = cg[caps]!;
    const v = await victim(c, caps, { name: 'other.corp.test', txid: 3333 });
    await forge(v.port, EVIL, 3333);
    expect(await forgedRecord(v)).toMatchObject({ forged: true, rejected: 'mismatch', qname: EVIL });
    await connectFails(c, caps);
  });

  it('an answer delivered to a socket that did not ask is refused', async () => {
    const c = cg[caps]!;
    const asker = await victim(c, caps, { name: EVIL, txid: 4444 });
    const other = await victim(c, caps);
    await forge(other.port, EVIL, 4444);
    expect(await forgedRecord(other)).toMatchObject({ forged: true, rejected: 'wrong_socket', qname: EVIL });
    await asker.done;
    await connectFails(c, caps);
  });
});

describe('control: the forgery itself is well-formed', () => {
  it('the same answer to the socket that asked, once, is believed (what every test above refuses)', async () => {
    const c = cg.control!;
    const v = await victim(c, 'none', { name: EVIL, txid: 5555 });
    await forge(v.port, EVIL, 5555);
    await forge(v.port, EVIL, 5555); // a replay: the query was consumed by the first
    await v.done;
    await until(() => stream.dns.filter((d) => d.socketCookie === v.cookie).length >= 2, 5000, 'both DNS records');
    const recs = stream.dns.filter((d) => d.socketCookie === v.cookie);
    expect(recs.map((d) => [d.forged, d.rejected])).toEqual([
      [false, 'ok'],
      [true, 'mismatch'],
    ]);
    const [r] = await exec(ns.agent(c.path, 'none', ['connect', FORGED, listenPort]));
    expect(r).toMatchObject({ ok: true });
    expect(await stream.one(r!.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'host', domainHash: nameHash(EVIL) });
  });
});
