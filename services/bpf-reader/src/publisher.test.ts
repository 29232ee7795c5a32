import { describe, expect, it } from 'vitest';
import { FakeClock } from '@sluice/testkit/unit';
import type { Batch } from './batcher.ts';
import { BatchPublisher, type PublishResult } from './publisher.ts';
import { isPermanentPublishError } from './refusal.ts';

function batch(firstSeq: number, count: number): Batch {
  return { firstSeq, count, body: Buffer.alloc(0), encoding: 'packed', wallOffsetNs: 0n };
}

function harness(maxQueuedRecords: number, maxInflight = 2, clock?: FakeClock) {
  const stats = { published: 0, dropped: 0, failures: 0, duplicates: 0, refused: 0, settled: [] as number[] };
  const calls: number[] = [];
  let mode: 'ok' | 'fail' | 'hold' | 'refuse-first' = 'ok';
  const held: Array<() => void> = [];
  const pub = new BatchPublisher(
    { maxQueuedRecords, maxInflight, retryMinMs: 5, retryMaxMs: 20 },
    (b) => {
      calls.push(b.firstSeq);
      if (mode === 'fail') return Promise.reject(new Error('no responders'));
      // What nats.js throws for a message over the server's max_payload (seen in batch-bound.int.test.ts).
      if (mode === 'refuse-first' && b.firstSeq === 0) return Promise.reject(new Error("'payload' max_payload size exceeded"));
      if (mode === 'hold') return new Promise<PublishResult>((r) => held.push(() => r({ duplicate: false })));
      return Promise.resolve({ duplicate: false });
    },
    {
      published: (n, dup) => ((stats.published += n), dup && stats.duplicates++),
      dropped: (n) => (stats.dropped += n),
      failed: () => stats.failures++,
      settled: (b) => stats.settled.push(b.firstSeq),
      refused: () => stats.refused++,
    },
    clock,
    isPermanentPublishError,
  );
  return { pub, stats, calls, held, set: (m: typeof mode) => (mode = m) };
}

describe('BatchPublisher', () => {
  it('publishes, keeping at most maxInflight outstanding', async () => {
    const h = harness(100, 2);
    h.set('hold');
    for (let i = 0; i < 5; i++) h.pub.offer(batch(i * 10, 10));
    expect(h.calls).toEqual([0, 10]);
    h.set('ok');
    h.held.splice(0).forEach((r) => r());
    expect(await h.pub.idle(1000)).toBe(0);
    expect(h.stats.published).toBe(50);
    expect(h.calls).toEqual([0, 10, 20, 30, 40]);
  });

  it('buffers up to the bound while publishing fails, then drops and counts the rest', async () => {
    const clock = new FakeClock();
    const h = harness(25, 2, clock);
    h.set('fail');
    expect(h.pub.offer(batch(0, 10))).toBe(true);
    expect(h.pub.offer(batch(10, 10))).toBe(true);
    expect(h.pub.offer(batch(20, 10))).toBe(false);
    expect(h.stats.dropped).toBe(10);
    await clock.advance(30); // backoff 5, 10, 20 ms: the first retries fall inside
    expect(h.stats.failures).toBeGreaterThan(2); // retried with backoff
    h.set('ok');
    let left: number | undefined;
    void h.pub.idle(1000).then((n) => (left = n));
    await clock.until('idle() answers', () => left !== undefined);
    expect(left).toBe(0);
    expect(h.stats.published).toBe(20);
    // Every attempt used one of the two batches' ids: retries never invent new ones.
    expect(new Set(h.calls)).toEqual(new Set([0, 10]));
    expect(h.stats.published + h.stats.dropped).toBe(30);
  });

  it('counts what is still queued at close as dropped', () => {
    const h = harness(100, 1);
    h.set('hold');
    h.pub.offer(batch(0, 5));
    h.pub.offer(batch(5, 7));
    expect(h.pub.close()).toBe(7);
    expect(h.stats.dropped).toBe(7);
    expect(h.pub.offer(batch(12, 1))).toBe(false);
  });

  it('settles every batch once, published or dropped', async () => {
    const h = harness(15, 1);
    h.pub.offer(batch(0, 10));
    h.pub.offer(batch(10, 10)); // over the bound: dropped, settled at once
    expect(await h.pub.idle(1000)).toBe(0);
    expect(h.stats.settled.sort((a, b) => a - b)).toEqual([0, 10]);
  });

  it('leaves what is queued at close uncounted when the records are kept in the ring', () => {
    const h = harness(100, 1);
    h.set('hold');
    h.pub.offer(batch(0, 5));
    h.pub.offer(batch(5, 7));
    expect(h.pub.close(true)).toBe(7);
    expect(h.stats.dropped).toBe(0);
  });

  it('drops and counts a batch the server refuses for good, and goes on with the next, never retrying it', async () => {
    const clock = new FakeClock();
    const h = harness(100, 1, clock);
    h.set('refuse-first');
    h.pub.offer(batch(0, 10));
    h.pub.offer(batch(10, 10));
    let left: number | undefined;
    void h.pub.idle(1000).then((n) => (left = n));
    await clock.until('idle() answers', () => left !== undefined);
    expect(left).toBe(0);
    expect(h.calls).toEqual([0, 10]); // the refused batch was tried once
    expect(h.stats).toMatchObject({ refused: 1, dropped: 10, published: 10, failures: 1 });
    expect(h.stats.settled).toEqual([0, 10]);
  });
});

describe('isPermanentPublishError', () => {
  it('knows a refusal for size from a passing failure', () => {
    expect(isPermanentPublishError(new Error("'payload' max_payload size exceeded"))).toBe(true);
    expect(isPermanentPublishError(new Error('message size exceeds maximum allowed'))).toBe(true);
    expect(isPermanentPublishError(new Error('no responders'))).toBe(false);
    expect(isPermanentPublishError(new Error('TIMEOUT'))).toBe(false);
  });
});
