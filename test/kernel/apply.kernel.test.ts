// `apply` on the real maps: whole-batch validation, decisions that change without detaching
// anything, the LPM closure, and no verdict outside old ∪ new while policies flip under load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, type ProbeCounts, type ProbeResult } from './exec.ts';
import { ApplySession } from './apply-session.ts';
import { listeners } from './net.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

// connect4/6, sendmsg4/6, sock_create, sock_release, sock_ops, cgroup_skb ingress/egress: one link each per scope.
const PROGRAMS = 12; // cgroup programs per scope (bpf/src/common.c sluice_progs)
const sb = new Sandbox('apply');
const net = listeners();
let stream: RecordStream;
let agent: Cgroup;
let tcpA: number; // 127.0.0.2
let tcpC: number; // 127.0.0.4
let tcpD: number; // 127.0.0.5: denied by every policy here

interface Link {
  program: string;
  link_id: number;
  prog_id: number;
}

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  [tcpA, tcpC, tcpD] = await Promise.all([net.tcp('127.0.0.2'), net.tcp('127.0.0.4'), net.tcp('127.0.0.5')]);
  agent = sb.cgroup('agent');
  await sb.apply(['policy 30', `rule 30 301 127.0.0.2/32 ${tcpA} tcp`, `cgroup ${agent.path} 30 enforce`]);
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
});

async function one(...op: (string | number)[]): Promise<ProbeResult> {
  const [r] = await probe(agent.path, ...op);
  return r!;
}

async function mapsSnapshot(): Promise<string> {
  const maps = ['policies', 'rules', 'resolvers', 'cgroup_policy', 'bypass', 'config'];
  return JSON.stringify(await Promise.all(maps.map((m) => sb.dump(m))));
}

describe('apply validation', () => {
  const bad: [string, string[], RegExp][] = [
    ['a malformed CIDR', ['policy 90', 'rule 90 1 127.0.0.300/32 80 tcp'], /bad address/],
    ['host bits set', ['policy 90', 'rule 90 1 127.0.0.1/8 80 tcp'], /host bits/],
    ['a bad port range', ['policy 90', 'rule 90 1 127.0.0.0/8 90-80 tcp'], /empty port range/],
    ['rules for a policy the batch does not define', ['rule 30 1 127.0.0.0/8 80 tcp'], /not defined in this batch/],
    ['redefining a live policy (immutable)', ['policy 30', 'rule 30 2 127.0.0.0/8 80 tcp'], /already exists/],
    ['a cgroup pointing at a missing policy', ['cgroup 999999 77 enforce'], /does not exist/],
    ['deleting a policy still in use', ['policy-del 30'], /still used by cgroup/],
    ['an unknown operation', ['policy 90', 'allow-everything'], /unknown operation/],
    ['a bad mode', ['policy 90', 'cgroup 999999 90 permissive'], /bad mode/],
    ['two changes to one cgroup', ['policy 90', 'cgroup 999999 90 enforce', 'cgroup-del 999999'], /conflicts with line/],
    // strtoul takes "-1" and wraps it to the maximum; every number field refuses a sign instead.
    ['a negative policy id', ['policy -1'], /bad policy id '-1'.*negative numbers are refused/],
    ['a negative rule id', ['policy 90', 'rule 90 -1 127.0.0.0/8 80 tcp'], /bad rule id '-1'.*negative/],
    ['a negative port', ['policy 90', 'rule 90 1 127.0.0.0/8 -1 tcp'], /bad ports '-1'.*negative/],
    ['a negative prefix length', ['policy 90', 'rule 90 1 127.0.0.0/-8 80 tcp'], /bad prefix length '-8'.*negative/],
    ['a negative timeout', ['timeouts -1 1000'], /bad active timeout '-1'.*negative/],
    // A wrapped @BOOT_NS would be a bypass that never expires.
    ['a negative boot-time bypass expiry', ['bypass 999999 @-1'], /bad bypass expiry '@-1'.*negative/],
    ['a negative bypass duration', ['bypass 999999 +-5'], /bad bypass duration '\+-5'.*negative/],
    [
      'a prefix needing more than 16 port ranges after the closure',
      ['policy 90', 'rule 90 1 127.0.0.0/8 1,3,5,7,9,11,13,15,17 tcp', 'rule 90 2 127.0.0.2/32 2,4,6,8,10,12,14,16,18 tcp'],
      /more than 16 port ranges/,
    ],
  ];
  it.each(bad)('rejects %s, names the line, and leaves every map untouched', async (_what, lines, error) => {
    const before = await mapsSnapshot();
    // A valid operation rides along: it must not be applied either.
    const r = await sb.applyRaw([...lines, `bypass ${agent.path} +60`]);
    expect(r.code).toBe(1);
    const batch = r.results.at(-1)!;
    expect(batch).toMatchObject({ ok: false });
    const failed = r.results.filter((x) => 'line' in x && typeof x.error === 'string' && error.test(x.error));
    expect(failed.length, JSON.stringify(r.results)).toBeGreaterThanOrEqual(1);
    const rider = r.results.find((x) => x.line === lines.length + 1);
    expect(rider).toMatchObject({ op: 'bypass', ok: false, error: 'not applied: batch rejected' });
    expect(await mapsSnapshot()).toBe(before);
  });
});

describe('apply on live traffic', () => {
  it('stores each prefix with the ports of every rule containing it (LPM closure)', async () => {
    await sb.apply([
      'policy 31',
      `rule 31 311 127.0.0.0/8 ${tcpC} tcp`,
      `rule 31 312 127.0.0.2/32 ${tcpA} tcp`,
      `cgroup ${agent.path} 31 enforce`,
      'policy-del 30',
    ]);
    // 127.0.0.4:tcpC only matches the /8; 127.0.0.2 hits the /32 entry, which must still carry the /8's port.
    const c = await one('connect', '127.0.0.4', tcpC);
    const a = await one('connect', '127.0.0.2', tcpA);
    expect([c.ok, a.ok]).toEqual([true, true]);
    expect(await stream.one(c.cookie)).toMatchObject({ verdict: 'ALLOWED', ruleId: 311 });
    expect(await stream.one(a.cookie)).toMatchObject({ verdict: 'ALLOWED', ruleId: 312 });
    const viaBroad = await one('connect', '::ffff:127.0.0.2', tcpC); // no listener on 127.0.0.2:tcpC
    expect(viaBroad).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(await stream.one(viaBroad.cookie)).toMatchObject({ verdict: 'ALLOWED', ruleId: 311 });
    const rules = await sb.dump<{ policy_id: number; cidr: string; ranges: { rule_id: number }[] }>('rules');
    expect(rules.filter((r) => r.policy_id === 30)).toEqual([]); // the old policy is gone
    expect(rules.find((r) => r.cidr === '127.0.0.2/32')!.ranges.map((x) => x.rule_id)).toEqual([312, 311]);
  });

  it('changes decisions without detaching: link and program ids unchanged', async () => {
    const linksBefore = await sb.dump<Link>('links');
    expect(linksBefore).toHaveLength(PROGRAMS);
    expect(await one('connect', '127.0.0.2', tcpA)).toMatchObject({ ok: true });

    await sb.apply(['policy 32', `rule 32 321 127.0.0.4/32 ${tcpC} tcp`, `cgroup ${agent.path} 32 enforce`, 'policy-del 31']);
    const a = await one('connect', '127.0.0.2', tcpA);
    const c = await one('connect', '127.0.0.4', tcpC);
    expect(a).toMatchObject({ ok: false, error: 'EPERM' });
    expect(c).toMatchObject({ ok: true });
    expect(await stream.one(c.cookie)).toMatchObject({ policyId: 32, ruleId: 321 });
    expect(await sb.dump<Link>('links')).toEqual(linksBefore);
  });

  it('never shows a verdict outside old ∪ new while policies flip under a connect loop', async () => {
    const session = new ApplySession(sb.pin);
    const linksBefore = await sb.dump<Link>('links');
    let current = 32;
    const ruleIds = new Set<number>([321]);
    // Every version allows 127.0.0.4:tcpC (with its own rule id, sometimes via a broader CIDR)
    // and none allows 127.0.0.5:tcpD.
    const loops = Promise.all([
      // Paced (~5k/s each) so the flips, not CPU starvation of this process, set the pace.
      probe<ProbeCounts>(agent.path, 'paced', '127.0.0.4', tcpC, 3000, 100),
      probe<ProbeCounts>(agent.path, 'paced', '127.0.0.5', tcpD, 3000, 100),
    ]);
    let flips = 0;
    // Each batch waits one RCU grace period before deleting the old policy: 8 ms idle, up to
    // ~200 ms with both cores busy (measured), so this is a handful of flips, not hundreds.
    const deadline = Date.now() + 2600;
    while (Date.now() < deadline) {
      const next = current + 1;
      const rule = 1000 + next;
      const cidr = next % 2 ? '127.0.0.4/32' : '127.0.0.0/29';
      const r = await session.batch([
        `policy ${next}`,
        `rule ${next} ${rule} ${cidr} ${tcpC} tcp`,
        `cgroup ${agent.path} ${next} enforce`,
        `policy-del ${current}`,
      ]);
      expect(r.ok, JSON.stringify(r.ops)).toBe(true);
      ruleIds.add(rule);
      current = next;
      flips++;
    }
    const [[allowedLoop], [deniedLoop]] = await loops;
    console.log(`old ∪ new: ${flips} flips under ${allowedLoop!.total} + ${deniedLoop!.total} connects`);
    await session.close();

    expect(flips).toBeGreaterThanOrEqual(10);
    expect(allowedLoop!.total).toBeGreaterThan(100);
    expect(allowedLoop!.outcomes).toEqual({ OK: allowedLoop!.total });
    expect(deniedLoop!.outcomes).toEqual({ EPERM: deniedLoop!.total });

    // What the kernel recorded agrees: every allowed connect named a rule of some version.
    const recs = stream.kernel.filter((r) => r.pid === allowedLoop!.pid);
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.every((r) => r.verdict === 'ALLOWED' && ruleIds.has(r.ruleId))).toBe(true);
    expect(stream.kernel.filter((r) => r.pid === deniedLoop!.pid).every((r) => r.verdict === 'DENIED')).toBe(true);
    expect(await sb.dump<Link>('links')).toEqual(linksBefore);
  });

  it('reloads programs (load again) under traffic without detaching: link ids kept, programs replaced', async () => {
    const linksBefore = await sb.dump<Link>('links');
    const loops = Promise.all([
      probe<ProbeCounts>(agent.path, 'loop', '127.0.0.4', tcpC, 800),
      probe<ProbeCounts>(agent.path, 'loop', '127.0.0.5', tcpD, 800),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    const load = await sb.helper(['load']);
    expect(load.code, load.stderr).toBe(0);
    expect(JSON.parse(load.stdout)).toMatchObject({ links_updated: PROGRAMS });
    const [[ok], [no]] = await loops;
    expect(ok!.outcomes).toEqual({ OK: ok!.total });
    expect(no!.outcomes).toEqual({ EPERM: no!.total });

    const linksAfter = await sb.dump<Link>('links');
    expect(linksAfter.map((l) => [l.program, l.link_id])).toEqual(linksBefore.map((l) => [l.program, l.link_id]));
    for (const l of linksAfter) expect(l.prog_id).not.toBe(linksBefore.find((b) => b.program === l.program)!.prog_id);
  });
});
