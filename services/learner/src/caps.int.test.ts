// Bounded key space, visible loss: past the per-session destination cap the learner drops and
// counts (sluice_events_dropped_total{stage="learner",reason="cap"}), and says so in the session.
import { jetstream } from '@nats-io/jetstream';
import { subjects } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, learnerHarness, metricValue, scrape, type LearnerHarness } from '@sluice/testkit';

let h: LearnerHarness;
beforeAll(async () => {
  h = await learnerHarness('caps', { LEARNER_MAX_DESTINATIONS: '3' });
});
afterAll(async () => {
  await h?.close();
});

describe('learner caps', () => {
  it('drops destinations past the cap, counts them by reason, and a bad line costs only itself', async () => {
    const p = await h.spawn();
    await h.request('start', { project: h.project, actor: 'test' });
    const events = ['a', 'b', 'c', 'd', 'e'].map((x, i) => attempt(h.run, h.project, 'bot', { host: `${x}.cap.test`, ip: `10.97.0.${i + 1}`, port: 443 }));
    await h.publish('bot', events);
    // A malformed line inside an otherwise good batch.
    const good = attempt(h.run, h.project, 'bot', { host: 'a.cap.test', ip: '10.97.0.1', port: 443 });
    await jetstream(h.nc).publish(subjects.events(h.project, 'bot', 'ALLOWED'), `{"broken": \n${JSON.stringify(good)}\n`);
    await h.drained();

    const diff = await h.request('diff', { project: h.project });
    expect(diff.result.session).toMatchObject({ destinations: 3, overflow: 2, learned: 4 });
    const metrics = await scrape(h.portOf.get(p)!);
    expect(metricValue(metrics, 'sluice_events_dropped_total', { stage: 'learner', reason: 'cap' })).toBe(2);
    expect(metricValue(metrics, 'sluice_events_dropped_total', { stage: 'learner', reason: 'json' })).toBe(1);
    expect(metricValue(metrics, 'sluice_events_total', { stage: 'learner' })).toBe(6);
  });
});
