// Helper processes come and go; enforcement does not. One writer per node (flock on the pin
// dir); a crashed writer releases the lock; a restarted stream picks up what the ring kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplySession } from './apply-session.ts';
import { probe, sleep, until, type ProbeCounts, type ProbeResult } from './exec.ts';
import { listeners } from './net.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('lifecycle');
const net = listeners();
let agent: Cgroup;
let tcpA: number;
let tcpB: number;

beforeAll(async () => {
  await sb.setup();
  [tcpA, tcpB] = await Promise.all([net.tcp('127.0.0.2'), net.tcp('127.0.0.3')]);
  agent = sb.cgroup('agent');
  await sb.apply(['policy 40', `rule 40 401 127.0.0.2/32 ${tcpA} tcp`, `cgroup ${agent.path} 40 enforce`]);
});

afterAll(async () => {
  await sb.teardown();
  await net.close();
});

async function one(...op: (string | number)[]): Promise<ProbeResult> {
  const [r] = await probe(agent.path, ...op);
  return r!;
}

describe('the writer lock', () => {
  it('makes a second writer refuse with a clear message while one holds it', async () => {
    const writer = new ApplySession(sb.pin);
    expect((await writer.batch(['policy 41', `rule 41 411 127.0.0.3/32 ${tcpB} tcp`])).ok).toBe(true);

    for (const args of [['load'], ['attach', sb.scope], ['apply']]) {
      const r = await sb.helper(args, '');
      expect([args[0], r.code]).toEqual([args[0], 3]);
      expect(r.stderr).toContain(`${args[0]} refused: pin dir ${sb.pin} is locked by another sluice-bpf writer (pid ${writer.pid})`);
    }
    // Readers are not writers.
    expect((await sb.helper(['stats'])).code).toBe(0);
    await writer.close();
  });

  it('survives kill -9 of the writer: enforcement stays, the lock is released, links unchanged', async () => {
    const links = await sb.dump('links');
    const writer = new ApplySession(sb.pin);
    expect((await writer.batch(['policy 42', `rule 42 421 127.0.0.2/32 ${tcpA} tcp`, `cgroup ${agent.path} 42 enforce`])).ok).toBe(true);
    await writer.close('SIGKILL');

    expect(await one('connect', '127.0.0.3', tcpB)).toMatchObject({ ok: false, error: 'EPERM' });
    expect(await one('connect', '127.0.0.2', tcpA)).toMatchObject({ ok: true });
    const reload = await sb.helper(['load']);
    expect(reload.code, reload.stderr).toBe(0);
    expect((await sb.dump<{ link_id: number }>('links')).map((l) => l.link_id)).toEqual(links.map((l) => l.link_id));
    expect(await one('connect', '127.0.0.3', tcpB)).toMatchObject({ ok: false, error: 'EPERM' });
  });
});

describe('the stream', () => {
  it('survives kill -9: enforcement stays, and a restarted stream resumes with what the ring kept', async () => {
    const first = sb.stream();
    const seen = await one('connect', '127.0.0.3', tcpB);
    await first.one(seen.cookie);
    await first.stop('SIGKILL');

    const whileDown = await probe(agent.path, 'connect', '127.0.0.3', tcpB, 'connect', '127.0.0.2', tcpA);
    expect(whileDown.map((r) => r.error)).toEqual(['EPERM', '']);

    const second = sb.stream();
    expect(await second.one(whileDown[0]!.cookie)).toMatchObject({ verdict: 'DENIED' });
    expect(await second.one(whileDown[1]!.cookie)).toMatchObject({ verdict: 'ALLOWED', ruleId: 421 });
    const after = await one('connect', '127.0.0.3', tcpB);
    expect(await second.one(after.cookie)).toMatchObject({ verdict: 'DENIED' });
    expect(second.byCookie(seen.cookie)).toEqual([]); // consumed by the first stream, not replayed
    await second.stop();
  });

  it('loses nothing to kill -9 mid-flow: records leave the ring only once written', async () => {
    const before = (await sb.stats()).counters;
    const first = sb.stream();
    const burst = probe<ProbeCounts>(agent.path, 'paced', '127.0.0.3', tcpB, 1200, 20);
    await until(() => first.kernel.length > 200, 5000, 'records flowing');
    await first.stop('SIGKILL');
    await sleep(200);
    const second = sb.stream();
    const [counts] = await burst;
    const end = (await until(async () => {
      const s = await sb.stats();
      const seen = new Set([...first.kernel, ...second.kernel].map((r) => `${r.tsNs}/${r.socketCookie}`));
      const made = s.counters.generated - before.generated;
      return seen.size + s.counters.drop_ringbuf_full - before.drop_ringbuf_full === made ? s : undefined;
    }, 5000, 'unique delivered + dropped == generated')).counters;
    await second.stop();
    const generated = end.generated - before.generated;
    const dups = first.kernel.length + second.kernel.length - new Set([...first.kernel, ...second.kernel].map((r) => `${r.tsNs}/${r.socketCookie}`)).size;
    console.log(`kill -9 mid-flow: generated ${generated}, first ${first.kernel.length}, second ${second.kernel.length}, duplicates ${dups}`);
    expect(generated).toBe(counts!.total);
    expect(first.kernel.length).toBeGreaterThan(0);
    expect(second.kernel.length).toBeGreaterThan(0);
    expect(end.drop_ringbuf_full - before.drop_ringbuf_full).toBe(0);
  });

  it('refuses a second concurrent consumer of the ring', async () => {
    const running = sb.stream();
    await sleep(200);
    const r = await sb.helper(['stream']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stream refused: another sluice-bpf stream is consuming');
    expect(running.child.exitCode).toBeNull();
    await running.stop();
  });

  it('exits non-zero with a message on stderr when its output goes away', async () => {
    const s = sb.stream(10);
    await sleep(200);
    s.child.stdout!.destroy();
    await one('connect', '127.0.0.3', tcpB); // something to write
    const { code } = await s.done;
    expect(code).toBe(1);
    expect(s.stderr).toMatch(/writing stdout failed/);
  });
});
