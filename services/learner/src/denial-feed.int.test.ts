// The denial feed from a real learner process on real NATS JetStream: DENIED events published as
// the attributor publishes them come out on sluice.denials.<node>.<project>.<agent>, one notice per
// denial with its advice, counted by advice; other verdicts never do. No policy service runs here,
// so a denial a rule could fix says the policy could not be read (the kernel e2e test shows the
// change itself, against the real policy service), while a raw socket needs no policy to explain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DenialNotice, subjects, type EgressEvent } from '@sluice/contracts';
import { attempt, learnerHarness, scrapeValue, waitFor, type LearnerHarness } from '@sluice/testkit';

let h: LearnerHarness;
beforeAll(async () => {
  h = await learnerHarness('denials', { LEARNER_POLICY_TIMEOUT_MS: '500' });
  await h.spawn();
});
afterAll(async () => {
  await h?.close();
});

describe('denial feed', () => {
  it('announces each denial of the agent on its subject, and only denials', async () => {
    const got: DenialNotice[] = [];
    const sub = h.nc.subscribe(subjects.denialsFor(h.project, 'agent.one'), {
      callback: (_err, m) => void got.push(DenialNotice.parse(m.json())),
    });
    await h.nc.flush();
    const a = (dst: Parameters<typeof attempt>[3], over: Partial<EgressEvent>) => attempt(h.run, h.project, 'agent.one', dst, over);
    const denied = { verdict: 'DENIED', audit: false, reason: 'default' } as const;
    await h.publish('agent.one', [
      a({ host: 'api.example.test', ip: '10.9.0.1', port: 443 }, denied),
      a({ ip: '10.9.0.2', port: 0 }, { ...denied, kind: 'sock_create', reason: 'raw_socket', sock_type: 'raw', sock_protocol: 1 }),
      a({ ip: '10.9.0.3', port: 443 }, { verdict: 'ALLOWED', audit: false, reason: 'rule' }),
    ]);
    await waitFor('two notices', async () => (got.length >= 2 ? true : undefined), 20_000);
    await h.nc.flush();
    sub.unsubscribe();
    expect(got).toHaveLength(2);
    const byKind = new Map(got.map((n) => [n.event.kind, n]));
    expect(byKind.get('connect')!.event.dst_host).toBe('api.example.test');
    expect(byKind.get('connect')!.advice.no_change).toMatchObject({ code: 'policy_unavailable' });
    expect(byKind.get('sock_create')!.advice.no_change).toMatchObject({ code: 'raw_socket' });
    const port = h.portOf.get(h.learners[0]!)!;
    await waitFor('published counted', async () =>
      (await scrapeValue(port, 'sluice_learner_denials_published_total', { advice: 'raw_socket' })) === 1 ? true : undefined,
    );
    expect(await scrapeValue(port, 'sluice_learner_denials_published_total', { advice: 'policy_unavailable' })).toBe(1);
  });

  it('counts a line that is not an event as dropped, by reason', async () => {
    const port = h.portOf.get(h.learners[0]!)!;
    const js = (await import('@nats-io/jetstream')).jetstream(h.nc);
    await js.publish(subjects.events(h.project, 'agent.two', 'DENIED'), '{not json\n');
    await waitFor('drop counted', async () =>
      (await scrapeValue(port, 'sluice_learner_denials_dropped_total', { reason: 'json' })) === 1 ? true : undefined,
    );
  });
});
