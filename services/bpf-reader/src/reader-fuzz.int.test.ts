// Garbage from the helper, on the real service and real NATS. The real helper cannot be made to
// write garbage, so a stand-in script replays a prepared byte stream (this is the one fault
// injected by substitution): whole records, random runs, records torn mid-stream. The reader
// must stay up, publish exactly the whole records and count every bad run as reason=decode.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeRecord, markOf, purgeRaw, type Reader, readRaw, startReader, testServer, waitFor } from '@sluice/testkit';

const NATS_URL = testServer('NATS_URL');
const NODE = `reader-fuzz-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'reader-fuzz-'));
let nc: NatsConnection;
let reader: Reader;

// Deterministic stream: 40 segments of whole records separated by random garbage or a torn
// record followed by two whole ones (how tearing looks mid-stream).
const marks: number[] = [];
let badRuns = 0;
const parts: Buffer[] = [];
fc.sample(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 900 }), fc.integer({ min: 1, max: 255 }), fc.boolean()), { numRuns: 40, seed: 7 }).forEach(
  ([garbage, torn, useGarbage], i) => {
    for (let k = 0; k < 3; k++) {
      const m = i * 10 + k + 1;
      parts.push(encodeRecord({ mark: m, tsNs: BigInt(m) * 1000n }));
      marks.push(m);
    }
    parts.push(useGarbage ? Buffer.from(garbage) : encodeRecord({ mark: 999_000 + i, tsNs: 1n }).subarray(0, torn));
    badRuns++;
  },
);
// A torn record is told from a whole one by its successor: the stream ends with two whole ones.
for (const m of [5000, 5001]) {
  parts.push(encodeRecord({ mark: m, tsNs: BigInt(m) * 1000n }));
  marks.push(m);
}
const stream = Buffer.concat(parts);

beforeAll(async () => {
  writeFileSync(join(dir, 'frames.bin'), stream);
  // Ignores the helper's arguments, writes the stream in odd-sized pieces, then idles like a
  // helper with nothing to report.
  const fake = join(dir, 'fake-helper.sh');
  writeFileSync(fake, `#!/bin/sh\ndd if=${join(dir, 'frames.bin')} bs=777 status=none\nexec sleep 600\n`);
  chmodSync(fake, 0o755);
  nc = await connect({ servers: NATS_URL });
  await purgeRaw(nc, NODE);
  reader = await startReader({ NATS_URL, NODE_NAME: NODE, SLUICE_BPF_BIN: fake, READER_STATE_DIR: dir, READER_RATE_PER_S: '0' });
});

afterAll(async () => {
  const stopped = await reader?.stop();
  await purgeRaw(nc, NODE);
  await nc?.close();
  rmSync(dir, { recursive: true, force: true });
  expect(stopped?.code).toBe(0);
});

it('random and torn frames never crash the reader and are all counted', async () => {
  const got = await waitFor('all whole records in JetStream', async () => {
    const { records } = await readRaw(nc, NODE);
    return records.length >= marks.length ? records : undefined;
  });
  expect(got.map((r) => markOf(r.rec))).toEqual(marks);
  expect(await reader.value('sluice_events_dropped_total', { stage: 'reader', reason: 'decode' })).toBe(badRuns);
  expect(await reader.value('sluice_reader_malformed_bytes_total')).toBe(stream.length - marks.length * 256);
  expect(reader.proc.child.exitCode).toBeNull();
});
