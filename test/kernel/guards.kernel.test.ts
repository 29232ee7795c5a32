// The issue #14 guards after a reload (`load` again, as every policy-service start does): the bind
// and setsockopt refusals stay attached (their links move to the new programs), and the escape
// detector's tracepoint links are replaced, not doubled: one escape, one record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, run, until } from './exec.ts';
import { spawnLines } from './probe-proc.ts';
import type { RecordStream } from './record-stream.ts';
import { cgroup2Mount, Sandbox, type Cgroup } from './sandbox.ts';

const sb = new Sandbox('guards');
let stream: RecordStream;
let cg: Cgroup;

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  cg = sb.cgroup('agent');
  await sb.apply(['policy 80', 'resolver 80 801 127.0.0.11', `cgroup ${cg.path} 80 enforce`]);
  const again = await sb.helper(['load']);
  expect(again.code, again.stderr).toBe(0);
});

afterAll(async () => {
  await sb.teardown();
});

describe('guards survive a reload', () => {
  it('still refuses bind to :53 and to a resolver address', async () => {
    const [a, b] = await probe(cg.path, 'bind', '127.0.0.1', 53, 'udp', 'bind', '127.0.0.11', 0, 'tcp');
    expect([a!.error, b!.error]).toEqual(['EPERM', 'EPERM']);
    expect(await stream.waitFor((r) => r.kind === 'bind' && r.socketCookie === BigInt(b!.cookie))).toMatchObject({
      verdict: 'DENIED',
      reason: 'dns_bind',
      dstAddr: '127.0.0.11',
      dstPort: 0,
      policyId: 80,
    });
  });

  it('records one escape for one move out of the scope, with pid, comm, from and to', async () => {
    const root = cgroup2Mount();
    const r = await run('/bin/sh', ['-c', `echo $$ > "$0/cgroup.procs" && exec sh -c 'echo $$; echo $$ > ${root}/cgroup.procs'`, cg.path]);
    expect(r.code, r.stderr).toBe(0);
    const pid = Number(r.stdout.trim());
    const e = await until(() => stream.escapes.find((x) => x.pid === pid), 5000, 'the escape record');
    expect(e).toMatchObject({ cgroupId: cg.id, toCgroupId: 1n, comm: 'sh', tid: pid });
    await new Promise((res) => setTimeout(res, 300));
    expect(stream.escapes.filter((x) => x.pid === pid)).toHaveLength(1);
  });

  it('records a child cloned straight out of the scope (clone3 CLONE_INTO_CGROUP), flagged clone_into', async () => {
    const [c] = await probe<{ ok: boolean; child: number; pid: number }>(cg.path, 'cloneinto', cgroup2Mount());
    expect(c).toMatchObject({ ok: true });
    const e = await until(() => stream.escapes.find((x) => x.pid === c!.child), 5000, 'the escape record');
    expect(e).toMatchObject({ cgroupId: cg.id, toCgroupId: 1n, cloneInto: true });
  });

  it('still knows a task that entered before a reload', async () => {
    const root = cgroup2Mount();
    const script = `echo $$ > "$0/cgroup.procs" && echo "{\\"pid\\":$$}" && sleep 4 && echo $$ > ${root}/cgroup.procs`;
    const p = spawnLines('/bin/sh', ['-c', script, cg.path]);
    const { pid } = (await p.line()) as { pid: number };
    const again = await sb.helper(['load']);
    expect(again.code, again.stderr).toBe(0);
    await p.done;
    const e = await until(() => stream.escapes.find((x) => x.pid === pid), 5000, 'the escape record');
    expect(e).toMatchObject({ cgroupId: cg.id, toCgroupId: 1n });
  }, 20_000);
});
