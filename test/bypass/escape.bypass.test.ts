// A `sluice run` command must not leave its cgroup (issue #14, finding 3): launched the way
// `sluice run` launches it (cli/src/run: join the cgroup, then setpriv to the sudo caller without
// the escape capabilities), `echo $$ > <cgroup2>/cgroup.procs` must fail and leave the process
// where it was. The test FAILS IF THE ESCAPE SUCCEEDS. Its control is the launch without the
// privilege drop (root): there the escape works, which also shows the kernel detecting it, an
// `escape` record with the pid, comm, and the cgroups it left and entered.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgv, readPasswd, resolveRunAs } from '../../cli/src/run/privileges.ts';
import { inCgroupArgv } from '../../cli/src/run/cgroup.ts';
import { run, until } from '../kernel/exec.ts';
import type { RecordStream } from '../kernel/record-stream.ts';
import { cgroup2Mount, Sandbox, type Cgroup } from '../kernel/sandbox.ts';

const sb = new Sandbox('bypass-escape');
let stream: RecordStream;
let cg: Cgroup;
const root = cgroup2Mount();
const rootId = 1n; // the cgroup2 root's id

// Prints where it is, tries to move to the root cgroup, prints where it is again.
const escape = `grep ^0:: /proc/self/cgroup; echo $$ > ${root}/cgroup.procs; echo "rc=$?"; grep ^0:: /proc/self/cgroup`;

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  cg = sb.cgroup('run');
  await sb.apply(['policy 72', `cgroup ${cg.path} 72 enforce`]);
});

afterAll(async () => {
  await sb.teardown();
});

const runCgroup = () => ({ path: cg.path, relative: cg.path.slice(root.length), id: String(cg.id) });
const lines = (s: string) => s.split('\n').filter(Boolean);

describe('cgroup escape from a sluice run command', () => {
  it('fails for the command as sluice run starts it under sudo (and nothing is recorded as an escape)', async () => {
    const runAs = resolveRunAs(undefined, { SUDO_UID: '65534', SUDO_GID: '65534' }, readPasswd());
    expect(runAs).toMatchObject({ uid: 65534 });
    const before = (await sb.stats()).counters.escapes;
    const argv = inCgroupArgv(runCgroup(), agentArgv(['/bin/sh', '-c', escape], runAs));
    const r = await run(argv[0]!, argv.slice(1));
    const out = lines(r.stdout);
    // Precondition: it ran inside the run's cgroup and made the write.
    expect(out[0]).toBe(`0::${runCgroup().relative}`);
    expect(r.stderr).toMatch(/cgroup\.procs: Permission denied/);
    expect(out[1]).not.toBe('rc=0');
    expect(out[2], 'the command left its cgroup').toBe(`0::${runCgroup().relative}`);
    expect((await sb.stats()).counters.escapes).toBe(before);
  });

  it('control: without the privilege drop the same escape works, and the kernel records it', async () => {
    const argv = inCgroupArgv(runCgroup(), ['/bin/sh', '-c', escape]);
    const r = await run(argv[0]!, argv.slice(1));
    const out = lines(r.stdout);
    expect(out[0]).toBe(`0::${runCgroup().relative}`);
    expect(out[1]).toBe('rc=0');
    expect(out[2]).toBe('0::/');
    const e = await until(() => stream.escapes.find((x) => x.cgroupId === cg.id), 5000, 'the escape record');
    expect(e).toMatchObject({ kind: 'escape', toCgroupId: rootId, comm: 'sh', cloneInto: false });
    expect(e.pid).toBeGreaterThan(0);
    expect((await sb.stats()).counters.escapes).toBeGreaterThanOrEqual(1);
    // The shell is gone by now; nothing of it is left in the root cgroup.
    expect(readFileSync(`${root}/cgroup.procs`, 'utf8').split('\n')).not.toContain(String(e.pid));
  });
});
