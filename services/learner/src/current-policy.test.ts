import { describe, expect, it } from 'vitest';
import { CurrentPolicyCache } from './current-policy.ts';
import type { CurrentPolicy, PolicyClient } from './policy-client.ts';

/** A policy client over a list of answers (the real one is exercised by the learner's int tests). */
function client(answers: Array<CurrentPolicy | undefined | Error>) {
  let calls = 0;
  const c: PolicyClient = {
    async current() {
      const a = answers[Math.min(calls++, answers.length - 1)];
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { c, calls: () => calls };
}
const rev = (revision: number): CurrentPolicy => ({ revision, yaml: 'version: 1\npolicies: []\n' });

describe('CurrentPolicyCache', () => {
  it('fetches at most once per max age, and again at once after invalidate', async () => {
    let now = 0;
    const { c, calls } = client([rev(1), rev(2), rev(3)]);
    const cache = new CurrentPolicyCache(c, 1000, () => now);
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    expect(calls()).toBe(1);
    expect(a).toEqual(b);
    expect(a.ok && a.current?.revision).toBe(1);
    now = 999;
    await cache.get();
    expect(calls()).toBe(1);
    cache.invalidate();
    const c2 = await cache.get();
    expect(c2.ok && c2.current?.revision).toBe(2);
    now = 2000;
    const c3 = await cache.get();
    expect(c3.ok && c3.current?.revision).toBe(3);
  });

  it('remembers a failure for the max age, and a revision that does not validate is a failure', async () => {
    let now = 0;
    const { c, calls } = client([new Error('no responders'), { revision: 9, yaml: 'version: 2\n' }]);
    const cache = new CurrentPolicyCache(c, 1000, () => now);
    expect(await cache.get()).toEqual({ ok: false, error: 'no responders' });
    await cache.get();
    expect(calls()).toBe(1);
    now = 1000;
    const bad = await cache.get();
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/revision 9 does not validate/);
  });

  it('no policy applied yet is a valid view with no document', async () => {
    const { c } = client([undefined]);
    expect(await new CurrentPolicyCache(c, 1000).get()).toEqual({ ok: true, current: undefined });
  });
});
