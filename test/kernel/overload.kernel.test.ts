// Every record is either delivered or counted as dropped: with a tiny ring and a paused reader,
// the kernel's `generated` counter equals delivered + drop_ringbuf_full exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, until, type ProbeCounts } from './exec.ts';
import { Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('overload');
let agent: Cgroup;

beforeAll(async () => {
  await sb.setup({ ringbufSize: 8192 }); // ~31 records of 256 + 8 bytes of ring header
  agent = sb.cgroup('agent'); // no entry: default deny, one DENIED record per connect
});

afterAll(() => sb.teardown());

describe('overload', () => {
  it('generated == delivered + counted drops, exactly', async () => {
    expect((await sb.stats()).ringbuf_size).toBe(8192);
    const stream = sb.stream(50);
    await until(() => stream.counters.length > 0, 5000, 'the stream to start');
    stream.child.kill('SIGSTOP');

    const [burst] = await probe<ProbeCounts>(agent.path, 'burst', '127.0.0.9', 9, 5000);
    expect(burst!.outcomes).toEqual({ EPERM: 5000 });

    stream.child.kill('SIGCONT');
    const mid = await sb.stats();
    expect(mid.counters.generated).toBe(5000);
    expect(mid.counters.drop_ringbuf_full).toBeGreaterThan(4000);
    await until(() => stream.kernel.length === mid.counters.generated - mid.counters.drop_ringbuf_full, 5000, 'the ring to drain');
    expect(await stream.stop()).toMatchObject({ code: 0 });

    const end = await sb.stats();
    const delivered = stream.kernel.length;
    console.log(`overload: generated ${end.counters.generated}, delivered ${delivered}, dropped ${end.counters.drop_ringbuf_full}`);
    expect(end.counters.generated).toBe(5000);
    expect(delivered).toBeGreaterThan(0);
    expect(delivered + end.counters.drop_ringbuf_full).toBe(end.counters.generated);
    expect(stream.kernel.every((r) => r.verdict === 'DENIED' && r.pid === burst!.pid)).toBe(true);

    // The in-band snapshot written on the graceful stop says the same.
    const last = stream.counters.at(-1)!;
    expect(last.counters.generated).toBe(5000n);
    expect(last.counters.drop_ringbuf_full).toBe(BigInt(end.counters.drop_ringbuf_full));
    expect(last.counters.denied).toBe(5000n);
  });

  it('stays exact when the reader stalls and resumes while two producers run', async () => {
    const before = (await sb.stats()).counters;
    const stream = sb.stream(50);
    await until(() => stream.counters.length > 0, 5000, 'the stream to start');
    let paused = false;
    const flapper = setInterval(() => {
      paused = !paused;
      stream.child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
    }, 3);
    const bursts = await Promise.all([
      probe<ProbeCounts>(agent.path, 'burst', '127.0.0.9', 9, 10000),
      probe<ProbeCounts>(agent.path, 'burst', '127.0.0.10', 9, 10000),
    ]);
    clearInterval(flapper);
    stream.child.kill('SIGCONT');
    const end = (await until(async () => {
      const s = await sb.stats();
      const made = s.counters.generated - before.generated;
      const dropped = s.counters.drop_ringbuf_full - before.drop_ringbuf_full;
      return stream.kernel.length === made - dropped ? s : undefined;
    }, 5000, 'delivered == generated - dropped')).counters;
    await stream.stop();

    const generated = end.generated - before.generated;
    const dropped = end.drop_ringbuf_full - before.drop_ringbuf_full;
    console.log(`stalling reader: generated ${generated}, delivered ${stream.kernel.length}, dropped ${dropped}`);
    expect(bursts.map(([b]) => b!.outcomes)).toEqual([{ EPERM: 10000 }, { EPERM: 10000 }]);
    expect(generated).toBe(20000);
    expect(dropped).toBeGreaterThan(0);
    expect(stream.kernel.length).toBeGreaterThan(31); // more than one ring's worth got through
    expect(stream.kernel.length + dropped).toBe(generated);
  });
});
