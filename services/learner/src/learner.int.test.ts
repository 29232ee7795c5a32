// Issue 8 (learner half of "Must show"), against real NATS JetStream and Redis with real learner
// processes: a session reaching several hosts yields a diff listing each exactly once with its
// ports; two replicas give the same diff as one; a learner killed mid-session loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { attempt, learnerHarness, type LearnerHarness } from '@sluice/testkit';
import { learnWhile } from '../../../cli/src/commands/learn-run.ts';

let h: LearnerHarness;
beforeAll(async () => {
  h = await learnerHarness('learner');
});
afterAll(async () => {
  await h?.close();
});

/** The session's traffic: several names (one with three ports), one IP literal, DNS, noise. */
function traffic(agent: string) {
  const a = (dst: Parameters<typeof attempt>[3], over = {}) => attempt(h.run, h.project, agent, dst, over);
  return [
    a({ host: 'api.learn.test', ip: '10.99.0.1', port: 443 }),
    a({ host: 'api.learn.test', ip: '10.99.0.1', port: 443 }),
    a({ host: 'api.learn.test', ip: '10.99.0.1', port: 8443 }),
    a({ host: 'API.learn.test.', ip: '10.99.0.2', port: 9000 }),
    a({ host: 'cdn.learn.test', ip: '10.99.0.3', port: 443 }),
    a({ host: 'pypi.example.org', ip: '10.99.0.4', port: 443 }),
    a({ ip: '203.0.113.7', port: 8080 }),
    a({ ip: '127.0.0.11', port: 53, proto: 'udp' }, { kind: 'udp_flow', bytes_in: 96 }), // answered: the resolver
    // Not learnable: allowed by a rule (kept as usage evidence), bypassed, loopback.
    a({ host: 'already.allowed.test', ip: '10.99.0.9', port: 443 }, { audit: false, reason: 'rule', rule_id: 4097 }),
    a({ host: 'bypass.test', ip: '10.99.0.8', port: 443 }, { verdict: 'BYPASSED', audit: false, reason: 'bypass' }),
    a({ ip: '127.0.0.1', port: 5432 }, { audit: false, reason: 'loopback' }),
    // Enforce mode: a denial teaches the same as an audit.
    a({ host: 'denied.other.test', ip: '10.99.0.5', port: 22 }, { verdict: 'DENIED', audit: false, reason: 'default' }),
  ];
}
const LEARNED_PER_ROUND = 9; // the attempts above that are audit or DENIED

async function diffYaml(sel: { project: string; agent?: string }): Promise<{ yaml: string; session: any; warning?: string }> {
  const r = await h.request('diff', sel);
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
  return r.result;
}

async function learnRound(agent: string, replicas: number, opts: { killMidway?: boolean } = {}) {
  const sel = { project: h.project };
  const started = await h.request('start', { ...sel, actor: 'test' });
  expect(started.ok, JSON.stringify(started.error)).toBe(true);
  expect(started.result.created).toBe(true);
  const events = traffic(agent);
  // Published in small batches, each twice under different message ids: JetStream delivers both,
  // so the learner sees every event twice, as after a redelivery.
  for (let i = 0; i < events.length; i += 3) {
    const batch = events.slice(i, i + 3);
    await h.publish(agent, batch);
    await h.publish(agent, batch);
    if (opts.killMidway && i === 3) {
      const victim = h.learners.find((p) => p.child.exitCode === null)!;
      await h.stop(victim, 'SIGKILL');
      await h.spawn();
    }
  }
  await h.drained();
  return diffYaml(sel);
}

describe('learner', () => {
  let single: string;

  it('one replica: every host once with its ports, the IP literal flagged, the resolver as a resolver', async () => {
    await h.spawn();
    const { yaml, session } = await learnRound('agent-1', 1);
    single = yaml;
    expect(session.learned).toBe(LEARNED_PER_ROUND);
    expect(session.duplicates).toBeGreaterThanOrEqual(LEARNED_PER_ROUND);
    const doc = parse(yaml);
    const add = doc.add.map((a: any) => [a.host ?? a.cidr, a.ports, a.proto, a.note ?? '']);
    expect(add).toEqual([
      ['api.learn.test', [443, 8443, 9000], 'tcp', ''],
      ['cdn.learn.test', [443], 'tcp', ''],
      ['denied.other.test', [22], 'tcp', ''],
      ['pypi.example.org', [443], 'tcp', ''],
      ['203.0.113.7/32', [8080], 'tcp', 'no DNS name seen'],
    ]);
    // Each destination exactly once in the whole text, too.
    for (const host of ['api.learn.test', 'cdn.learn.test', 'pypi.example.org', 'denied.other.test']) {
      expect(yaml.match(new RegExp(`host: ${host.replace(/\./g, '\\.')}\\n`, 'g'))).toHaveLength(1);
    }
    expect(doc.resolvers).toEqual(['127.0.0.11']);
    expect(doc.suggest).toEqual([
      expect.objectContaining({ host: '*.learn.test', members: ['api.learn.test', 'cdn.learn.test'], ports: [443, 8443, 9000] }),
    ]);
    expect(yaml).not.toContain('bypass.test');
    expect(yaml).not.toContain('already.allowed.test');
  });

  it('two replicas give the byte-identical diff', async () => {
    expect((await h.request('reset', { project: h.project, actor: 'test' })).result).toEqual({ reset: true });
    await h.spawn();
    expect(h.learners.filter((p) => p.child.exitCode === null)).toHaveLength(2);
    const { yaml } = await learnRound('agent-1', 2);
    expect(yaml).toBe(single);
  });

  it('a replica killed (SIGKILL) mid-session and restarted loses nothing', async () => {
    expect((await h.request('reset', { project: h.project, actor: 'test' })).result).toEqual({ reset: true });
    const { yaml, session } = await learnRound('agent-1', 2, { killMidway: true });
    expect(session.learned).toBe(LEARNED_PER_ROUND);
    expect(yaml).toBe(single);
  });

  it('a session survives every learner being down: events published meanwhile are learned on restart', async () => {
    expect((await h.request('reset', { project: h.project, actor: 'test' })).result).toEqual({ reset: true });
    const sel = { project: h.project };
    await h.request('start', { ...sel, actor: 'test' });
    const events = traffic('agent-1');
    await h.publish('agent-1', events.slice(0, 6));
    await h.drained();
    for (const p of h.learners) if (p.child.exitCode === null) await h.stop(p);
    await h.publish('agent-1', events.slice(6));
    await h.spawn();
    await h.drained();
    const { yaml, session } = await diffYaml(sel);
    expect(session.learned).toBe(LEARNED_PER_ROUND);
    expect(yaml).toBe(single);
  });

  it('an agent session sees only its agent; events before the start are not learned', async () => {
    const early = attempt(h.run, h.project, 'agent-2', { host: 'early.learn.test', ip: '10.99.1.1', port: 443 }, {
      time: new Date(Date.now() - 60_000).toISOString(),
    });
    const r = await h.request('start', { project: h.project, agent: 'agent-2', actor: 'test' });
    expect(r.ok).toBe(true);
    await h.publish('agent-2', [early, attempt(h.run, h.project, 'agent-2', { host: 'mine.learn.test', ip: '10.99.1.2', port: 443 })]);
    await h.publish('agent-3', [attempt(h.run, h.project, 'agent-3', { host: 'theirs.learn.test', ip: '10.99.1.3', port: 443 })]);
    await h.drained();
    const { yaml, session } = await diffYaml({ project: h.project, agent: 'agent-2' });
    expect(parse(yaml).add.map((a: any) => a.host)).toEqual(['mine.learn.test']);
    expect(session.before_start).toBe(1);
  });

  it('answers bad requests with a clear error, not a timeout', async () => {
    const bad = await h.request('start', { project: '' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('project') } });
    const unknown = await h.request('diff', { project: `${h.project}-none` });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('learnWhile (for `sluice run --learn`): the diff covers what the command did, up to its last connection', async () => {
    const agent = 'runner';
    const out = await learnWhile(h.nc, { project: h.project, agent, actor: 'test', durable: h.durable, timeoutMs: 20_000, reset: true }, async () => {
      await h.publish(agent, [attempt(h.run, h.project, agent, { host: 'ran.learn.test', ip: '10.99.2.1', port: 443 })]);
      return 0;
    });
    expect(out.result).toBe(0);
    expect(parse(out.yaml).add.map((a: any) => a.host)).toEqual(['ran.learn.test']);
    expect((await h.request('status', { project: h.project, agent })).result.sessions).toEqual([]);
  });
});
