// doctor's helper check against the real built helper (the kernel tier builds it first): it
// must pass on a healthy build, and fail, naming the binary, for one that lacks the verb.
import { describe, expect, it } from 'vitest';
import { helper } from './checks.ts';

describe('doctor: helper check', () => {
  it('passes for the built helper and shows its record version', () => {
    const r = helper();
    expect(r, r.detail).toMatchObject({ name: 'helper', ok: true });
    expect(r.detail).toMatch(/"record_version":1,"record_size":256/);
  });

  it('fails for a binary that does not know the verb, and names it', () => {
    expect(helper('/bin/false')).toMatchObject({ ok: false, detail: '/bin/false: exit 1' });
    expect(helper('/nonexistent/sluice-bpf')).toMatchObject({ ok: false, detail: '/nonexistent/sluice-bpf not built' });
  });
});
