// The denial feed through the real accounts file (infra/nats/accounts.conf): the learner may
// publish sluice.denials.> and hear policy applies; the operator and viewer may subscribe to the
// feed; the learner may not publish on another service's subjects with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { subjects } from '@sluice/contracts';
import { startAccountsNats, TEST_PASSWORDS, waitFor, type TestNats } from '@sluice/testkit';

let nats: TestNats;
let learner: NatsConnection;
let operator: NatsConnection;
let viewer: NatsConnection;

beforeAll(async () => {
  nats = await startAccountsNats();
  learner = await nats.connectAs('learner', TEST_PASSWORDS.SLUICE_LEARNER_PASSWORD);
  operator = await nats.connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD);
  viewer = await nats.connectAs('viewer', TEST_PASSWORDS.SLUICE_VIEWER_PASSWORD);
}, 60_000);

afterAll(async () => {
  for (const c of [learner, operator, viewer]) await c?.close();
  await nats?.stop();
});

const collect = (sub: Subscription, into: string[]) =>
  void (async () => {
    for await (const m of sub) into.push(m.subject);
  })();

describe('denial feed permissions', () => {
  it('the learner publishes the feed; operator and viewer receive it; the learner hears policy applies', async () => {
    const got: string[] = [];
    const seen: string[] = [];
    collect(operator.subscribe(subjects.denialsAll), got);
    collect(viewer.subscribe(subjects.denialsFor('p', 'a')), seen);
    const applies: string[] = [];
    collect(learner.subscribe(subjects.audit('policy_apply')), applies);
    await Promise.all([operator.flush(), viewer.flush(), learner.flush()]);
    learner.publish(subjects.denials('node-1', 'p', 'a'), '{}');
    await learner.flush();
    await waitFor('operator and viewer got the notice', async () => (got.length === 1 && seen.length === 1 ? true : undefined), 5000);
    expect(got).toEqual(['sluice.denials.node-1.p.a']);
    // The policy service's audit reaches the learner's subscription (its cache invalidation).
    const policy = await nats.connectAs('policy', TEST_PASSWORDS.SLUICE_POLICY_PASSWORD);
    policy.publish(subjects.audit('policy_apply'), '{}');
    await policy.flush();
    await waitFor('learner heard the apply', async () => (applies.length === 1 ? true : undefined), 5000);
    await policy.close();
  });

  it('the learner cannot publish events with it', async () => {
    const events: string[] = [];
    const denials: string[] = [];
    collect(operator.subscribe(subjects.eventsAll), events);
    collect(operator.subscribe(subjects.denialsFor('p', 'later')), denials);
    await operator.flush();
    learner.publish(subjects.events('p', 'a', 'DENIED'), '{}');
    // Published after the forbidden one on the same connection: once it arrived, the other would have too.
    learner.publish(subjects.denials('node-1', 'p', 'later'), '{}');
    await learner.flush();
    await waitFor('the allowed notice', async () => (denials.length === 1 ? true : undefined), 5000);
    expect(events).toEqual([]);
  });
});
