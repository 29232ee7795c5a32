import { describe, expect, it } from 'vitest';
import { DenialNotice, parsePolicy, subjects } from '@sluice/contracts';
import { egressEvent, ndjson } from '@sluice/testkit/unit';
import { AdviceMemo } from './advice-memo.ts';
import { adviceLabel, denialNotices } from './denial-notices.ts';
import type { PolicyView } from './current-policy.ts';

const parsed = parsePolicy('version: 1\npolicies:\n  - name: web\n    match: { project: demo }\n    egress: { allow: [{ cidr: 10.0.0.0/8, ports: [443] }] }\n');
if (!parsed.ok) throw new Error('fixture');
const view: PolicyView = { ok: true, current: { document: parsed.document, revision: 4 } };
const denied = (i: number, over = {}) =>
  egressEvent(i, { verdict: 'DENIED', reason: 'default', rule_id: 0, cgroup_id: '4242', project: 'demo', agent: 'bot 1', dst_host: undefined, dst_ip: '203.0.113.9', dst_port: 22, ...over });

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('denialNotices', () => {
  it("puts each denial on its workload's subject with the change that would allow it and the revision it was judged against", () => {
    const b = denialNotices(ndjson([denied(1), denied(2, { kind: 'sock_create', reason: 'raw_socket', dst_port: 0, dst_ip: '' })]), view);
    expect(b.notices.map((n) => n.subject)).toEqual([subjects.denials('node-t', 'demo', 'bot 1'), subjects.denials('node-t', 'demo', 'bot 1')]);
    const [first, second] = b.notices.map((n) => DenialNotice.parse(n.notice));
    expect(first!.policy_revision).toBe(4);
    expect(first!.advice.change).toMatchObject({ policy: 'web', add: { cidr: '203.0.113.9/32', ports: [22], proto: 'tcp' }, verified: true });
    expect(adviceLabel(first!.advice)).toBe('change');
    expect(adviceLabel(second!.advice)).toBe('raw_socket');
    // What is published: the notice itself, as JSON.
    for (const n of b.notices) expect(JSON.parse(text(n.payload))).toEqual(JSON.parse(JSON.stringify(n.notice)));
  });

  it('a storm of one attempt gets one advice, the same as a lone event would', () => {
    const memo = new AdviceMemo();
    const b = denialNotices(ndjson([denied(6), denied(7), denied(8, { agent: 'other' })]), view, memo);
    expect(memo.misses).toBe(2);
    const lone = denialNotices(ndjson([denied(7)]), view).notices[0]!;
    expect(text(b.notices[1]!.payload)).toBe(text(lone.payload));
    expect(b.notices.map((n) => n.subject)).toEqual([subjects.denials('node-t', 'demo', 'bot 1'), subjects.denials('node-t', 'demo', 'bot 1'), subjects.denials('node-t', 'demo', 'other')]);
    const noRevision = denialNotices(ndjson([denied(9)]), { ok: false, error: 'down' }).notices[0]!;
    expect(JSON.parse(text(noRevision.payload))).toEqual(JSON.parse(JSON.stringify(noRevision.notice)));
  });

  it('counts bad lines by reason and passes over events that are not denials', () => {
    const b = denialNotices(['{nope', JSON.stringify({ id: 'x' }), JSON.stringify(denied(3, { verdict: 'ALLOWED' })), ''].join('\n'), view);
    expect(b.notices).toHaveLength(0);
    expect(Object.fromEntries(b.invalid)).toEqual({ json: 1, schema: 1 });
    expect(b.notDenied).toBe(1);
  });

  it('an unreadable policy still announces the denial, with no change suggested and the reason why not', () => {
    const b = denialNotices(ndjson([denied(4)]), { ok: false, error: 'no responders' });
    expect(b.notices[0]!.notice.advice).toMatchObject({ no_change: { code: 'policy_unavailable' } });
    expect(b.notices[0]!.notice.advice.no_change!.message).toMatch(/no responders/);
    expect(b.notices[0]!.notice.policy_revision).toBeUndefined();
  });

  it('an unlabelled workload goes to the empty-token subject', () => {
    const b = denialNotices(ndjson([denied(5, { project: undefined, agent: undefined, attribution: 'unknown' })]), view);
    expect(b.notices[0]!.subject).toBe('sluice.denials.node-t.%.%');
    expect(adviceLabel(b.notices[0]!.notice.advice)).toBe('unattributed');
  });

  // The feed passes the message's bytes and copies an event's own bytes into its notice only when
  // they are exactly its JSON: a padded line, a line with keys zod strips, bytes that are not UTF-8
  // and labels outside Latin-1 must each still publish the notice as JSON.stringify(notice).
  it('publishes every notice as its JSON from the bytes as from the text, odd lines included', () => {
    const lines = [
      JSON.stringify(denied(10, { agent: 'bøt ✓ 机器人' })),
      `\u00a0 ${JSON.stringify(denied(11))}\t`,
      JSON.stringify({ ...denied(12), not_in_schema: 1 }),
      '',
      JSON.stringify(denied(13, { comm: 'x' })),
    ];
    const bytes = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0xff, 0x0a])]);
    // A line that is not UTF-8 becomes U+FFFD; it is then no event (json), counted.
    const bad = Buffer.from(JSON.stringify(denied(14, { comm: 'AB' }))).map((c) => (c === 0x41 ? 0xc3 : c));
    const all = Buffer.concat([bytes, bad]);
    const fromBytes = denialNotices(new Uint8Array(all), view);
    const fromText = denialNotices(all.toString('utf8'), view);
    expect(fromBytes.notices).toHaveLength(5);
    expect(fromBytes.notices.map((n) => text(n.payload))).toEqual(fromText.notices.map((n) => text(n.payload)));
    for (const n of fromBytes.notices) expect(Buffer.from(n.payload).equals(Buffer.from(JSON.stringify(n.notice)))).toBe(true);
    expect(fromBytes.notices[0]!.subject).toBe(subjects.denials('node-t', 'demo', 'bøt ✓ 机器人'));
    expect(Object.fromEntries(fromBytes.invalid)).toEqual({ json: 1 });
  });
});
