// The bpf-reader's NATS identity (infra/nats/accounts.conf) can keep its drop account and publish
// its drop notices, and nothing beyond them: a private nats-server with the real accounts file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { KV_BUCKETS, STREAMS, subjects } from '@sluice/contracts';
import { createLogger, ensureKv, ensureStream, jetstreamManager } from '@sluice/runtime';
import { startAccountsNats, TEST_PASSWORDS, type TestNats } from '@sluice/testkit';
import { DropAccount } from './drop-account.ts';
import { DropAccountStore } from './drop-account-store.ts';

let nats: TestNats;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startAccountsNats();
  nc = await nats.connectAs('bpf-reader', TEST_PASSWORDS.SLUICE_READER_PASSWORD);
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('bpf-reader NATS permissions', () => {
  it('may create, write and read its drop account and publish drop notices', async () => {
    await ensureStream(await jetstreamManager(nc), STREAMS.control, createLogger('perm-it', 'silent'));
    const kv = await ensureKv(nc, KV_BUCKETS.dropAccounts.name, KV_BUCKETS.dropAccounts.history);
    const store = new DropAccountStore(kv, KV_BUCKETS.dropAccounts.name, 'node.one');
    const a = new DropAccount('node.one', 'boot', undefined, new Date(0));
    const state = a.round([{ stage: 'kernel', reason: 'ringbuf_full', count: 3 }], [0, 3], new Date(1000))!;
    await store.save(state);
    expect(await store.load()).toEqual(state);
    const ack = await jetstream(nc).publish(subjects.audit('drop_notice'), JSON.stringify(state.pending[0]), { msgID: state.pending[0]!.id });
    expect(ack.stream).toBe(STREAMS.control.name);
  });

  it('may not publish other audit kinds or write the policy bucket', async () => {
    await expect(jetstream(nc).publish(subjects.audit('policy_apply'), '{}', { timeout: 2000 })).rejects.toThrow();
    await expect(ensureKv(nc, KV_BUCKETS.policy.name, KV_BUCKETS.policy.history)).rejects.toThrow();
  });
});
