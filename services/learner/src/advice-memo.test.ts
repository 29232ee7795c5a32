import { describe, expect, it } from 'vitest';
import { parsePolicy } from '@sluice/contracts';
import { adviseDenial, unavailableAdvice } from '@sluice/policy-advice';
import { egressEvent } from '@sluice/testkit/unit';
import { AdviceMemo } from './advice-memo.ts';
import type { PolicyView } from './current-policy.ts';

const parsed = parsePolicy('version: 1\npolicies:\n  - name: web\n    match: { project: demo }\n    egress: { allow: [{ cidr: 10.0.0.0/8, ports: [443] }] }\n');
if (!parsed.ok) throw new Error('fixture');
const view: PolicyView = { ok: true, current: { document: parsed.document, revision: 4 } };
const denied = (i: number, over = {}) =>
  egressEvent(i, { verdict: 'DENIED', reason: 'default', rule_id: 0, cgroup_id: '4242', project: 'demo', agent: 'bot', dst_host: undefined, dst_ip: '203.0.113.9', dst_port: 22, ...over });

describe('AdviceMemo', () => {
  it('advises a repeated attempt once, with exactly the advice computed fresh, and its JSON', () => {
    const memo = new AdviceMemo();
    const events = [denied(1), denied(2), denied(3, { dst_port: 23 }), denied(4), denied(5, { dst_port: 23 })];
    for (const e of events) {
      const got = memo.advise(view, e);
      expect(got.advice).toEqual(adviseDenial(view.ok ? view.current : undefined, e));
      expect(JSON.parse(got.bytes.toString())).toEqual(got.advice);
    }
    expect({ hits: memo.hits, misses: memo.misses }).toEqual({ hits: 3, misses: 2 });
  });

  it('a new policy view starts over: advice follows the applied policy', () => {
    const memo = new AdviceMemo();
    const before = memo.advise(view, denied(1));
    const reparsed = parsePolicy('version: 1\npolicies:\n  - name: web\n    match: { project: demo }\n    egress: { allow: [{ cidr: 203.0.113.0/24, ports: [22] }] }\n');
    if (!reparsed.ok) throw new Error('fixture');
    const after = memo.advise({ ok: true, current: { document: reparsed.document, revision: 5 } }, denied(2));
    expect(before.advice.change).toBeDefined();
    expect(after.advice.no_change?.code).toBe('allowed_now');
    const down = memo.advise({ ok: false, error: 'no responders' }, denied(3));
    expect(down.advice).toEqual(unavailableAdvice(denied(3), 'no responders'));
    expect(memo.misses).toBe(3);
  });

  it('stays bounded: past its size it starts over rather than growing', () => {
    const memo = new AdviceMemo(2);
    for (const port of [1, 2, 3, 1]) memo.advise(view, denied(port, { dst_port: port }));
    // 1, 2 fill it; 3 clears it; 1 is advised again.
    expect(memo.misses).toBe(4);
    memo.advise(view, denied(9, { dst_port: 3 }));
    expect(memo.hits).toBe(1);
  });
});
