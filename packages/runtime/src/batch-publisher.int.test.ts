// The lean batch publisher over a real NATS with JetStream (NATS_URL): a batch is stored and acked,
// a republished batch comes back as duplicates and is stored once, a JetStream error reply and a
// subject no stream listens on fail the batch, and a deadline republishes only what was not
// acknowledged, with the same ids. Streams and subjects are this run's own.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchPublishError, JetStreamBatchPublisher, type BatchMessage } from './batch-publisher.ts';
import { headerLines } from './pub-ack.ts';

function natsUrl(): string {
  const url = process.env.NATS_URL;
  if (!url) throw new Error('NATS_URL is not set: run the tests through scripts/test.sh (its private instance)');
  return url;
}

const run = randomBytes(4).toString('hex');
const STREAM = `BPTEST_${run}`;
const SMALL = `BPTEST_SMALL_${run}`;
let nc: NatsConnection;
let jsm: JetStreamManager;

const batch = (prefix: string, n: number, data = 'x'): BatchMessage[] =>
  Array.from({ length: n }, (_, i) => ({ subject: `${prefix}.${i % 3}`, data: new TextEncoder().encode(`${data}${i}`), msgId: `${prefix}:${i}`, headers: headerLines([['Sluice-Count', '1']]) }));

beforeAll(async () => {
  nc = await connect({ servers: natsUrl() });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`bptest.${run}.>`], storage: StorageType.Memory, duplicate_window: 60_000_000_000 });
  await jsm.streams.add({ name: SMALL, subjects: [`bpsmall.${run}.>`], storage: StorageType.Memory, max_msg_size: 64 });
});
afterAll(async () => {
  await jsm?.streams.delete(STREAM).catch(() => undefined);
  await jsm?.streams.delete(SMALL).catch(() => undefined);
  await nc?.close();
});

describe('JetStreamBatchPublisher', () => {
  it('stores a batch with its headers; the same batch again is all duplicates, stored once', async () => {
    const pub = new JetStreamBatchPublisher(nc, { stream: STREAM });
    try {
      const msgs = batch(`bptest.${run}.a`, 300);
      expect(await pub.publish(msgs, headerLines([['Content-Type', 'application/x-ndjson']]))).toEqual({ messages: 300, duplicates: 0, republished: 0 });
      expect(await pub.publish(msgs)).toEqual({ messages: 300, duplicates: 300, republished: 0 });
      expect((await jsm.streams.info(STREAM)).state.messages).toBe(300);
      const stored = await jsm.streams.getMessage(STREAM, { seq: 1 });
      expect(stored?.header.get('Nats-Msg-Id')).toBe(`bptest.${run}.a:0`);
      expect(stored?.header.get('Content-Type')).toBe('application/x-ndjson');
      expect(stored?.header.get('Sluice-Count')).toBe('1');
      expect(pub.inflight).toBe(0);
    } finally {
      pub.close();
    }
  });

  it('a JetStream error reply fails the batch with the store’s reason', async () => {
    const pub = new JetStreamBatchPublisher(nc);
    try {
      const msgs = batch(`bpsmall.${run}.a`, 3, 'y'.repeat(200));
      const err = await pub.publish(msgs).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BatchPublishError);
      expect((err as Error).message).toMatch(/message size exceeds maximum allowed \(code 400, err_code 10054\)/);
      expect(pub.inflight).toBe(0);
    } finally {
      pub.close();
    }
  });

  it('a subject no stream listens on fails the batch (503)', async () => {
    const pub = new JetStreamBatchPublisher(nc);
    try {
      const err = await pub.publish(batch(`bpnone.${run}`, 2)).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/no stream listens on the subject/);
    } finally {
      pub.close();
    }
  });

  it('an ack from another stream than expected fails the batch', async () => {
    const pub = new JetStreamBatchPublisher(nc, { stream: 'SOMETHING_ELSE' });
    try {
      const err = await pub.publish(batch(`bptest.${run}.w`, 2)).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(new RegExp(`stored by stream ${STREAM}, not SOMETHING_ELSE`));
    } finally {
      pub.close();
    }
  });

  it('after the deadline only the unacked messages go again, with the same ids; when attempts run out the batch fails', async () => {
    // A stand-in store on core NATS: acks even messages at once, odd ones only the second time it sees them.
    const seen = new Map<string, number>();
    const sub = nc.subscribe(`bpfake.${run}.>`, {
      callback: (_e, m) => {
        const id = m.headers!.get('Nats-Msg-Id');
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        const i = Number(id.slice(id.lastIndexOf(':') + 1));
        if (i % 2 === 0 || n > 1) m.respond(`{"stream":"FAKE","seq":${i}${n > 1 ? ',"duplicate":true' : ''}}`);
      },
    });
    const pub = new JetStreamBatchPublisher(nc, { timeoutMs: 300, attempts: 2 });
    try {
      await nc.flush();
      const t0 = Date.now();
      expect(await pub.publish(batch(`bpfake.${run}.a`, 10))).toEqual({ messages: 10, duplicates: 5, republished: 5 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      for (let i = 0; i < 10; i++) expect(seen.get(`bpfake.${run}.a:${i}`)).toBe(i % 2 === 0 ? 1 : 2);

      // One attempt only: the odd half is never acked.
      const once = new JetStreamBatchPublisher(nc, { timeoutMs: 200, attempts: 1 });
      try {
        const err = await once.publish(batch(`bpfake.${run}.b`, 4)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BatchPublishError);
        expect(err).toMatchObject({ unacked: 2, message: '2 of 4 messages not acknowledged within 200 ms (1 attempts)' });
      } finally {
        once.close();
      }
    } finally {
      pub.close();
      sub.unsubscribe();
    }
  });

  it('closing fails the batches still waiting', async () => {
    const sub = nc.subscribe(`bpsilent.${run}.>`, { callback: () => undefined });
    const pub = new JetStreamBatchPublisher(nc, { timeoutMs: 10_000 });
    try {
      await nc.flush();
      const p = pub.publish(batch(`bpsilent.${run}`, 2)).catch((e: unknown) => e);
      await nc.flush();
      pub.close();
      expect(((await p) as Error).message).toBe('publisher closed');
    } finally {
      sub.unsubscribe();
    }
  });
});
