// Learn mode (allow everything, mark what enforcement would deny) and bypass (allow with
// BYPASSED until an expiry the kernel checks itself: no service has to come back to end it).
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, until, type ProbeResult } from './exec.ts';
import { listeners } from './net.ts';
import type { RecordStream } from './record-stream.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('modes');
const net = listeners();
let stream: RecordStream;
let learner: Cgroup;
let bypassed: Cgroup;
let tcpA: number;
let tcpB: number;

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  [tcpA, tcpB] = await Promise.all([net.tcp('127.0.0.2'), net.tcp('127.0.0.3')]);
  learner = sb.cgroup('learner');
  bypassed = sb.cgroup('bypassed');
  await sb.apply([
    'policy 20',
    `rule 20 201 127.0.0.2/32 ${tcpA} tcp`,
    `cgroup ${learner.path} 20 learn`,
    `cgroup ${bypassed.path} 20 enforce`,
    'timeouts 60000 200', // allowed UDP is recorded after the idle window: keep it short
  ]);
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
});

async function one(cg: Cgroup, ...op: (string | number)[]): Promise<ProbeResult> {
  const [r] = await probe(cg.path, ...op);
  return r!;
}

/** sluice-bpf processes working on this sandbox's pin dir. */
function helpersRunning(pin: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('sluice-bpf') && argv.includes(pin);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('learn mode', () => {
  it('allows everything and sets the audit bit exactly where enforcement would deny', async () => {
    const allowed = await one(learner, 'connect', '127.0.0.2', tcpA);
    const wouldDeny = await one(learner, 'connect', '127.0.0.3', tcpB);
    const udp = await one(learner, 'sendto', '127.0.0.3', 9);
    const mapped = await one(learner, 'connect', '::ffff:127.0.0.3', tcpB);
    expect([allowed.ok, wouldDeny.ok, udp.ok, mapped.ok]).toEqual([true, true, true, true]);

    expect(await stream.one(allowed.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'rule', ruleId: 201, mode: 'learn', audit: false });
    expect(await stream.one(wouldDeny.cookie)).toMatchObject({ verdict: 'ALLOWED', reason: 'default', mode: 'learn', audit: true });
    expect(await stream.one(udp.cookie)).toMatchObject({ kind: 'udp_flow', verdict: 'ALLOWED', audit: true });
    expect(await stream.one(mapped.cookie)).toMatchObject({ verdict: 'ALLOWED', audit: true, v4mapped: true });
  });

  it('lets a raw socket through with an audit record', async () => {
    const raw = await one(learner, 'raw', '4');
    expect(raw.ok).toBe(true);
    const rec = await stream.waitFor((r) => r.kind === 'sock_create' && r.pid === raw.pid);
    expect(rec).toMatchObject({ verdict: 'ALLOWED', reason: 'raw_socket', audit: true, mode: 'learn' });
  });

  it('counts audits in the kernel counters', async () => {
    const s = await sb.stats();
    expect(s.counters.audit).toBe(stream.kernel.filter((r) => r.audit).length);
    expect(s.counters.audit).toBeGreaterThanOrEqual(4);
  });
});

describe('bypass', () => {
  it('yields BYPASSED until expiry, then enforcement resumes with no service running', async () => {
    const before = await one(bypassed, 'connect', '127.0.0.3', tcpB);
    expect(before).toMatchObject({ ok: false, error: 'EPERM' });

    await sb.apply([`bypass ${bypassed.path} +1.5`]);
    const [entry] = await sb.dump<{ cgroup_id: string; expires_boot_ns: string; active: boolean }>('bypass');
    expect(entry).toMatchObject({ cgroup_id: String(bypassed.id), active: true });

    const during = await one(bypassed, 'connect', '127.0.0.3', tcpB);
    const raw = await one(bypassed, 'raw', '4');
    expect([during.ok, raw.ok]).toEqual([true, true]);
    expect(await stream.one(during.cookie)).toMatchObject({ verdict: 'BYPASSED', reason: 'bypass', audit: false });
    expect(await stream.waitFor((r) => r.kind === 'sock_create' && r.pid === raw.pid)).toMatchObject({ verdict: 'BYPASSED' });

    // Nothing of ours runs from here on: the kernel alone ends the bypass.
    await stream.stop();
    expect(helpersRunning(sb.pin)).toEqual([]);
    await until(async () => !(await sb.dump<{ active: boolean }>('bypass'))[0]!.active, 5000, 'bypass expiry');

    const after = await one(bypassed, 'connect', '127.0.0.3', tcpB);
    const rawAfter = await one(bypassed, 'raw', '4');
    expect(after).toMatchObject({ ok: false, error: 'EPERM' });
    expect(rawAfter).toMatchObject({ ok: false, error: 'EPERM' });
    // The records were kept in the ring while no reader ran.
    const again = sb.stream();
    expect(await again.one(after.cookie)).toMatchObject({ verdict: 'DENIED', reason: 'default' });
  });

  it('can be revoked before expiry', async () => {
    await sb.apply([`bypass ${bypassed.path} +60`]);
    expect(await one(bypassed, 'connect', '127.0.0.3', tcpB)).toMatchObject({ ok: true });
    await sb.apply([`bypass-del ${bypassed.path}`]);
    expect(await one(bypassed, 'connect', '127.0.0.3', tcpB)).toMatchObject({ ok: false, error: 'EPERM' });
  });
});
