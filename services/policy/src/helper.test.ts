// The helper's failure modes the real sluice-bpf cannot be made to show on demand (a hang, a
// garbled line, a stderr flood), played by a small stand-in script with sluice-bpf's command line
// and output format. The real helper's happy paths are in the kernel tests.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendTail, DumpLine, parseHelperLine } from './helper-output.ts';
import { ApplySession, dumpState, HelperTimeoutError, run } from './helper.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-helper-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for sluice-bpf: `dump` prints `dump` for the map named, `apply` answers the lock-proof batch then does `apply`. */
function helper(name: string, body: { dump?: string; apply?: string }): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/bin/sh
# $1=--pin $2=PIN $3=command $4=map
case "$3" in
  dump) ${body.dump ?? 'exit 0'} ;;
  apply)
    read op; read commit
    echo '{"line":1,"op":"default","ok":true}'
    echo '{"batch":1,"ok":true,"ops":1,"errors":0}'
    ${body.apply ?? 'cat >/dev/null'} ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('sluice-bpf apply session', () => {
  it('a hung apply times out with a clear error, the helper is killed and the session counts as dead', async () => {
    const bin = helper('hung', { apply: 'exec sleep 600' });
    const s = await ApplySession.start(bin, '/pin', { timeoutMs: 400 });
    const t0 = Date.now();
    const err = await s.apply([{ op: 'default', policy_id: 0, mode: 'enforce' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperTimeoutError);
    expect((err as Error).message).toBe('sluice-bpf apply did not answer a batch of 1 op(s) within 400 ms; killed it (the next sync starts a new one)');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.alive).toBe(false);
    await s.close(); // returns: the killed helper is gone
    expect(s.child.signalCode).toBe('SIGKILL');
  });

  it('an apply line of the wrong shape is an error naming it, not a cast', async () => {
    const bin = helper('garbled', { apply: `read op; read commit; echo '{"line":"two","op":"default","ok":"yes"}'; cat >/dev/null` });
    const s = await ApplySession.start(bin, '/pin', { timeoutMs: 5000 });
    const err = await s.apply([{ op: 'default', policy_id: 0, mode: 'enforce' }]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^apply: helper output line .* has an unexpected shape \(line: .*number.*; ok: .*boolean/);
    expect(s.alive).toBe(false);
    await s.close();
  });
});

describe('sluice-bpf dump', () => {
  it('a hung dump times out', async () => {
    const bin = helper('hung-dump', { dump: 'exec sleep 600' });
    await expect(dumpState(bin, '/pin', 300)).rejects.toThrow(/^sluice-bpf --pin dump \w+ did not finish within 300 ms; killed$/);
  });

  it('dump lines are schema-checked, naming the map', async () => {
    const bin = helper('bad-dump', { dump: `[ "$4" = cgroup_policy ] && echo '{"cgroup_id":42,"policy_id":1,"mode":"enforce"}'; exit 0` });
    await expect(dumpState(bin, '/pin', 5000)).rejects.toThrow(/^dump cgroup_policy: helper output line .* unexpected shape \(cgroup_id: /);
  });

  it('stderr is bounded: a flood keeps its last 16 KiB', async () => {
    const bin = helper('flood', { dump: `head -c 1000000 /dev/zero | tr '\\0' x >&2; echo THE-END >&2; exit 1` });
    const r = await run(bin, ['--pin', '/pin', 'dump', 'config'], 10_000);
    expect(r.code).toBe(1);
    expect(r.stderr.length).toBeLessThanOrEqual(16 * 1024);
    expect(r.stderr.trimEnd().endsWith('THE-END')).toBe(true);
    await expect(dumpState(bin, '/pin', 10_000)).rejects.toThrow(/failed \(1\): …x+THE-END$/);
  });
});

describe('helper output parsing', () => {
  it('keeps unknown fields working and names bad ones', () => {
    expect(parseHelperLine(DumpLine.bypass, '{"cgroup_id":"7","expires_boot_ns":"99","active":true,"new":1}', 'dump bypass')).toEqual({
      cgroup_id: '7',
      expires_boot_ns: '99',
    });
    expect(() => parseHelperLine(DumpLine.bypass, 'nope', 'dump bypass')).toThrow('dump bypass: unreadable helper output line "nope"');
    expect(appendTail('abc', 'def', 4)).toBe('…def');
    expect(appendTail('ab', 'c', 4)).toBe('abc');
  });
});
