// The `host` and `timeouts` operations of `sluice-bpf apply`: validation names the line and
// writes nothing, patterns are keyed by the shared name hash, same-pattern rules merge, and a
// deleted policy takes its host rules along.
import { hostPatternKey } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from './sandbox.ts';

const sb = new Sandbox('hosts');
interface HostEntry {
  policy_id: number;
  match: string;
  name_hash: string;
  ranges: { lo: number; hi: number; proto: string; rule_id: number }[];
}

beforeAll(() => sb.setup());
afterAll(() => sb.teardown());

describe('apply host / timeouts', () => {
  it.each([
    ['host 50 1 exa*mple.test 443 tcp', /'\*' is not allowed/],
    ['host 50 1 a..test 443 tcp', /empty label/],
    [`host 50 1 ${'x'.repeat(64)}.test 443 tcp`, /longer than 63/],
    ['host 50 1 **.a.b.c.d.e.f.g.h.i 443 tcp', /at most 8 labels/],
    ['host 50 1 api.test 443 icmp', /bad protocol/],
    ['host 50 1 api.test 70000 tcp', /bad port/],
    ['host 51 1 api.test 443 tcp', /not defined in this batch/],
    ['timeouts 0 100', /bad active timeout/],
  ])('rejects %s, names the line, writes nothing', async (line, why) => {
    const r = await sb.applyRaw(['policy 50', line]);
    expect(r.code).toBe(1);
    expect(r.results[1]).toMatchObject({ line: 2, ok: false });
    expect(String(r.results[1]!.error)).toMatch(why);
    expect(await sb.dump('host_rules')).toEqual([]);
    expect(await sb.dump('policies')).toEqual([]);
  });

  it('keys patterns by the shared hash, merges rules naming one pattern, and deletes them with the policy', async () => {
    await sb.apply([
      'policy 52',
      'host 52 5 API.Example.Test. 443 tcp',
      'host 52 6 *.example.test 443,8443 tcp',
      'host 52 7 **.example.test 80 any',
      'host 52 8 **.example.test 53 udp',
    ]);
    const entries = await sb.dump<HostEntry>('host_rules');
    const key = (p: string) => {
      const k = hostPatternKey(p);
      return [k.match, k.hash.toString()];
    };
    expect(entries.map((e) => [e.match, e.name_hash]).sort()).toEqual(
      [key('api.example.test'), key('*.example.test'), key('**.example.test')].sort(),
    );
    const any = entries.find((e) => e.match === 'any')!;
    expect(any.ranges.map((r) => [r.lo, r.hi, r.proto, r.rule_id])).toEqual([
      [80, 80, 'any', 7],
      [53, 53, 'udp', 8],
    ]);
    await sb.apply(['policy-del 52']);
    expect(await sb.dump('host_rules')).toEqual([]);
  });

  it('sets the flow timeouts in config', async () => {
    await sb.apply(['timeouts 1500 250']);
    expect((await sb.dump('config'))[0]).toMatchObject({ active_timeout_ns: '1500000000', udp_idle_ns: '250000000' });
  });
});
