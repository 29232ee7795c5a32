// Source routing and IPv4-mapped addresses must not carry a datagram judged for an allowed address
// to a denied one. Each test FAILS IF THE ATTACK SUCCEEDS: a source-routed packet left the agent's
// socket (a sniffer on the namespace's loopback counts them), or a mapped connect got through. The
// control runs the very same process outside the managed scope and must succeed, so the attack is
// real on this kernel and the option call was made.
//
// The agent may send UDP to the resolver 127.0.0.11:53 and to fd00::11 (a rule); 127.0.0.66 and
// fd00::66 are denied. The source route names the denied address as the next hop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStream } from '../kernel/record-stream.ts';
import { Sandbox, type Cgroup } from '../kernel/sandbox.ts';
import { CAP_SETS, exec, Netns, spawn, type Caps, type Op } from './agent.ts';

const sb = new Sandbox('bypass-srcroute');
const ns = new Netns('srr');
let stream: RecordStream;
const cg: Record<string, Cgroup> = {};

beforeAll(async () => {
  await ns.create();
  await sb.setup();
  stream = sb.stream();
  for (const c of CAP_SETS) cg[c] = sb.cgroup(c);
  await sb.apply([
    'policy 71',
    'resolver 71 711 127.0.0.11',
    'rule 71 712 fd00::11/128 53 udp',
    ...Object.values(cg).map((c) => `cgroup ${c.path} 71 enforce`),
  ]);
}, 60_000);

afterAll(async () => {
  await sb.teardown();
  await ns.destroy();
});

/** Runs `argv` while a sniffer watches the namespace's loopback; returns its ops and what left. */
async function sniffed(argv: string[]): Promise<{ ops: Op[]; v4opts: number; v6rthdr: number }> {
  const sniff = spawn(ns.root(['sniff', 'lo', 800]));
  await sniff.line();
  const ops = await exec(argv);
  const lines = await sniff.done;
  const s = lines.at(-1) as { v4opts: number; v6rthdr: number };
  return { ops, v4opts: s.v4opts, v6rthdr: s.v6rthdr };
}

const cases = [
  { what: 'IPv4 LSRR via setsockopt(IP_OPTIONS)', ops: ['srcroute4', 'lsrr', 'opt', '127.0.0.66', '127.0.0.11', 53], v6: false, cmsg: false },
  { what: 'IPv4 SSRR via setsockopt(IP_OPTIONS)', ops: ['srcroute4', 'ssrr', 'opt', '127.0.0.66', '127.0.0.11', 53], v6: false, cmsg: false },
  { what: 'IPv4 LSRR per datagram (IP_RETOPTS cmsg)', ops: ['srcroute4', 'lsrr', 'cmsg', '127.0.0.66', '127.0.0.11', 53], v6: false, cmsg: true },
  { what: 'IPv6 routing header via setsockopt(IPV6_RTHDR)', ops: ['srcroute6', 'opt', 'fd00::66', 'fd00::11', 53], v6: true, cmsg: false },
  { what: 'IPv6 routing header per datagram (IPV6_RTHDR cmsg)', ops: ['srcroute6', 'cmsg', 'fd00::66', 'fd00::11', 53], v6: true, cmsg: true },
];

describe.each(CAP_SETS)('source routing, agent with %s capabilities', (caps: Caps) => {
  it.each(cases)('$what never leaves the socket', async (c) => {
    const control = await sniffed(ns.control(caps, c.ops));
    const sent = (r: { v4opts: number; v6rthdr: number }) => (c.v6 ? r.v6rthdr : r.v4opts);
    if (!control.ops.every((o) => o.ok)) {
      // The kernel itself refuses this one to these capabilities (IPV6_RTHDR as ancillary data needs
      // CAP_NET_RAW): nothing for Sluice to stop. Say so, and check the agent is refused too.
      console.log(`${c.what} with ${caps} capabilities: refused by the kernel itself (${JSON.stringify(control.ops)})`);
      expect(sent(control)).toBe(0);
    } else {
      expect(sent(control), 'precondition: without Sluice the source-routed packet leaves').toBeGreaterThanOrEqual(1);
    }
    const before = (await sb.stats()).counters;
    const agent = await sniffed(ns.agent(cg[caps]!.path, caps, c.ops));
    expect(sent(agent), 'a source-routed packet left the agent').toBe(0);
    const after = (await sb.stats()).counters;
    if (control.ops.every((o) => o.ok)) {
      if (c.cmsg) {
        expect(agent.ops.at(-1)).toMatchObject({ op: 'srcroute_send', ok: false, error: 'EPERM' });
        expect(after.srcroute_dropped - before.srcroute_dropped).toBe(1);
        const rec = await stream.waitFor((r) => r.kind === 'packet' && r.socketCookie === BigInt(agent.ops.at(-1)!.cookie));
        expect(rec).toMatchObject({ verdict: 'DENIED', reason: 'source_route', dstAddr: c.v6 ? 'fd00::66' : '127.0.0.66' });
      } else {
        expect(agent.ops[0]).toMatchObject({ op: 'srcroute_opt', ok: false, error: 'EPERM' });
        expect(after.sockopt_denied - before.sockopt_denied).toBe(1);
        // The sockopt hook offers no socket cookie: the record is the agent process's.
        const rec = await stream.waitFor((r) => r.kind === 'sockopt' && r.pid === agent.ops[0]!.pid);
        expect(rec).toMatchObject({ verdict: 'DENIED', reason: 'source_route_opt', cgroupId: cg[caps]!.id, sockopt: { level: c.v6 ? 41 : 0, optname: c.v6 ? 57 : 4 } });
      }
    }
  });

  it('an IPv4-mapped IPv6 destination is judged as the IPv4 one (connect and sendto)', async () => {
    const port = 41000 + (process.pid % 20000);
    spawn(ns.root(['serve', '127.0.0.66', port, 5000]));
    const [ctl] = await exec(ns.control(caps, ['sleep', 200, 'connect', '::ffff:127.0.0.66', port]));
    expect(ctl, 'precondition: the mapped connect works without Sluice').toMatchObject({ ok: true });
    const ops = await exec(ns.agent(cg[caps]!.path, caps, ['connect', '::ffff:127.0.0.66', port, 'sendto', '::ffff:127.0.0.66', port]));
    expect(ops.map((o) => o.error)).toEqual(['EPERM', 'EPERM']);
    for (const o of ops) expect(await stream.one(o.cookie)).toMatchObject({ verdict: 'DENIED', v4mapped: true, dstAddr: '::ffff:127.0.0.66' });
  });
});
