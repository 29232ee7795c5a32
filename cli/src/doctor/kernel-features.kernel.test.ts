// doctor's kernel probes against the real kernel and the built helper: every feature the
// programs use is found on this kernel by probing it; a feature this kernel lacks (a helper id
// past the last one, an attach type the program type refuses) is reported missing, with exit 1,
// so "supported" is not what the probe says regardless; without privileges nothing is probed and
// doctor falls back to the version string, saying so.
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HELPER } from '../local/paths.ts';
import { featureResults, kernelFeatures, KERNEL_MINIMUM, type FeatureLine } from './kernel-features.ts';
import { atLeast, kernelVersion } from './check.ts';

const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as FeatureLine);

describe('doctor: kernel features, probed', () => {
  it('finds every feature the programs use on this kernel, each probed', () => {
    const results = kernelFeatures();
    const names = results.map((r) => r.name);
    for (const f of ['ringbuf', 'bpf_loop', 'bpf_timer', 'cgroup/sock_release', 'tp_btf/cgroup_attach_task']) expect(names).toContain(`kernel: ${f}`);
    for (const r of results.filter((x) => !x.optional)) expect(r, r.detail).toMatchObject({ ok: true, detail: expect.stringMatching(/^supported, probed/) });
    // The tamper guard is optional: present or not, it is reported, and never fails the doctor.
    const guard = results.find((r) => r.name === 'kernel: lsm/bpf');
    expect(guard, 'doctor reports the tamper guard').toMatchObject({ optional: true });
    if (!guard!.ok) expect(guard!.detail).toMatch(/tamper guard is absent/);
    // The programs did load on this kernel (the kernel tier loads them), so the probes must agree with that.
    expect(atLeast(kernelVersion(release()), KERNEL_MINIMUM)).toBe(true);
  });

  it('reports what the kernel lacks as missing, and exits 1', () => {
    // Helper id 999 does not exist; attach type 1 (cgroup_skb egress) is not one CGROUP_SOCK (9) accepts; 2 (sock_create) is.
    const r = spawnSync(HELPER, ['features', 'helper:8:999', 'attach:9:1', 'attach:9:2'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const asked = lines(r.stdout).slice(-3);
    expect(asked.map((l) => [l.feature, l.ok, l.probed])).toEqual([
      ['helper:8:999', false, true],
      ['attach:9:1', false, true],
      ['attach:9:2', true, true],
    ]);
    expect(asked[1]!.detail).toMatch(/refused a program with this attach type/);
  });

  it('without privileges nothing is probed, and doctor says it read the version string instead', () => {
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', HELPER, 'features'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const all = lines(r.stdout);
    expect(all.filter((l) => !l.optional).every((l) => !l.probed && !l.ok && /could not probe: Operation not permitted/.test(l.detail))).toBe(true);
    const loop = featureResults(all, release()).find((c) => c.name === 'kernel: bpf_loop')!;
    expect(loop.detail).toMatch(new RegExp(`^not probed .*; by version string ${release().replace(/[.+]/g, '\\$&')} ≥ 5\\.17$`));
  });
});
