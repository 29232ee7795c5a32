import { describe, expect, it } from 'vitest';
import { featureResults, type FeatureLine } from './kernel-features.ts';

const line = (over: Partial<FeatureLine>): FeatureLine => ({ feature: 'bpf_loop', ok: true, probed: true, min_kernel: '5.17', used_by: 'dns.h', detail: '', ...over });

describe('featureResults', () => {
  it('a probed answer decides, whatever the version string says (backports, configs)', () => {
    const [yes] = featureResults([line({})], '5.10.0-backported');
    expect(yes).toMatchObject({ name: 'kernel: bpf_loop', ok: true });
    expect(yes!.detail).toMatch(/supported, probed \(mainline 5\.17\)/);
    const [no] = featureResults([line({ ok: false, detail: 'the verifier does not know this helper for this program type' })], '6.8.0');
    expect(no).toMatchObject({ ok: false });
    expect(no!.detail).toMatch(/MISSING, probed: the verifier does not know/);
  });
  it('an unprobed feature falls back to the version string, and says so', () => {
    const [old] = featureResults([line({ probed: false, ok: false, detail: 'could not probe: Operation not permitted' })], '5.15.0-91-generic');
    expect(old).toMatchObject({ ok: false });
    expect(old!.detail).toBe('not probed (could not probe: Operation not permitted); by version string 5.15.0-91-generic < 5.17');
    const [recent] = featureResults([line({ probed: false, ok: false, detail: 'x' })], '6.1.0');
    expect(recent!.ok).toBe(true);
    expect(recent!.hint).toMatch(/run doctor as root/);
  });
  it('an optional feature (the tamper guard) missing warns and says what protection is left', () => {
    const [g] = featureResults([line({ feature: 'lsm/bpf', optional: true, ok: false, detail: 'the kernel refused to load an lsm program: Operation not permitted' })], '6.18.0');
    expect(g).toMatchObject({ name: 'kernel: lsm/bpf', ok: false, optional: true });
    expect(g!.detail).toMatch(/^absent, probed: the kernel refused .*tamper guard is absent.*file permissions and seccomp/);
  });
});
