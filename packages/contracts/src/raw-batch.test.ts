import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  batchMsgId,
  batchRecord,
  parseRawBatch,
  rawBatchHeaders,
  recordEventId,
  recordWallNs,
  type RawBatchMeta,
} from './raw-batch.ts';
import { HEADERS } from './streams.ts';

const SIZE = 256;
const BOOT = '03502c00-de63-4675-bd95-7f98dd8847d8';
const meta: RawBatchMeta = { node: 'n1', bootId: BOOT, firstSeq: 1000, count: 3, wallOffsetNs: -42n };

function getter(pairs: Array<[string, string]>): (name: string) => string | undefined {
  const m = new Map(pairs);
  return (name) => m.get(name);
}

describe('raw batch', () => {
  it('round-trips meta through headers', () => {
    const body = new Uint8Array(3 * SIZE);
    expect(parseRawBatch(getter(rawBatchHeaders(meta)), body, SIZE)).toEqual({ meta, encoding: 'fixed', records: body });
  });

  it('round-trips any meta', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 10_000 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (firstSeq, count, wallOffsetNs) => {
          const m = { ...meta, firstSeq, count, wallOffsetNs };
          expect(parseRawBatch(getter(rawBatchHeaders(m)), new Uint8Array(count * SIZE), SIZE).meta).toEqual(m);
        },
      ),
    );
  });

  it('names ids after node, boot and sequence', () => {
    expect(batchMsgId(meta)).toBe(`n1:${BOOT}:1000`);
    expect(recordEventId(meta, 2)).toBe(`n1:${BOOT}:1002`);
    expect(() => recordEventId(meta, 3)).toThrow(/outside 0..2/);
  });

  it('rejects a body that is not count records', () => {
    expect(() => parseRawBatch(getter(rawBatchHeaders(meta)), new Uint8Array(3 * SIZE - 1), SIZE)).toThrow(
      /body is 767 bytes, expected 3 records × 256 = 768/,
    );
  });

  it('names the bad header', () => {
    const h = rawBatchHeaders(meta);
    const without = (name: string) => getter(h.filter(([k]) => k !== name));
    const body = new Uint8Array(3 * SIZE);
    expect(() => parseRawBatch(without(HEADERS.bootId), body, SIZE)).toThrow(/Sluice-Boot-Id is missing/);
    const bad = (name: string, v: string) => getter(h.map(([k, old]) => [k, k === name ? v : old]));
    expect(() => parseRawBatch(bad(HEADERS.count, '3x'), body, SIZE)).toThrow(/Sluice-Count must be a non-negative integer/);
    expect(() => parseRawBatch(bad(HEADERS.firstSeq, '99999999999999999'), body, SIZE)).toThrow(/Sluice-First-Seq/);
    expect(() => parseRawBatch(bad(HEADERS.wallOffsetNs, '1.5'), body, SIZE)).toThrow(/Sluice-Wall-Offset-Ns/);
    expect(() => parseRawBatch(bad(HEADERS.msgId, 'n1:x:1'), body, SIZE)).toThrow(/Nats-Msg-Id .* disagrees/);
    expect(() => parseRawBatch(bad(HEADERS.bootId, 'nope'), body, SIZE)).toThrow(/not a boot id/);
  });

  it('views records and converts time', () => {
    const body = new Uint8Array(3 * SIZE);
    body[SIZE] = 7;
    expect(batchRecord(body, 1, SIZE)[0]).toBe(7);
    expect(() => batchRecord(body, 3, SIZE)).toThrow(/outside/);
    expect(recordWallNs(5n, 1_700_000_000_000_000_000n)).toBe(1_700_000_000_000_000_005n);
  });
});
