// Garbage from the helper, on the real service and real NATS. The real helper cannot be made to
// write garbage, so a stand-in script replays a prepared byte stream (this is the one fault
// injected by substitution): whole records, random runs, records torn mid-stream. The reader
// must stay up, publish exactly the whole records and count every bad run as reason=decode.
// Both stream formats: 256-byte records, and the packed entries of `stream --packed`.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeRecord, markOf, packedStreamEntry, purgeRaw, type Reader, readRaw, startReader, testServer, waitFor } from '@sluice/testkit';

const NATS_URL = testServer('NATS_URL');

describe.each(['fixed', 'packed'] as const)('%s stream', (format) => {
  const NODE = `reader-fuzz-${format}-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'reader-fuzz-'));
  let nc: NatsConnection;
  let reader: Reader;
  const frame = (rec: Buffer) => (format === 'packed' ? packedStreamEntry(rec) : rec);

  // Deterministic stream: 40 segments of whole records separated by random garbage or a torn
  // record followed by two whole ones (how tearing looks mid-stream). Packed records vary in
  // length: each has its bytes from a point in its body on zeroed.
  const marks: number[] = [];
  let badRuns = 0;
  let wholeBytes = 0;
  const parts: Buffer[] = [];
  const whole = (m: number) => {
    const f = frame(encodeRecord({ mark: m, tsNs: BigInt(m) * 1000n }).fill(0, 124 + ((m * 29) % 133)));
    parts.push(f);
    marks.push(m);
    wholeBytes += f.length;
  };
  fc.sample(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 900 }), fc.integer({ min: 1, max: 255 }), fc.boolean()), { numRuns: 40, seed: 7 }).forEach(
    ([garbage, torn, useGarbage], i) => {
      for (let k = 0; k < 3; k++) whole(i * 10 + k + 1);
      const t = frame(encodeRecord({ mark: 999_000 + i, tsNs: 1n }));
      parts.push(useGarbage ? Buffer.from(garbage) : t.subarray(0, Math.min(torn, t.length - 1)));
      badRuns++;
    },
  );
  // A torn record is told from a whole one by its successor: the stream ends with two whole ones.
  whole(5000);
  whole(5001);
  const stream = Buffer.concat(parts);

  beforeAll(async () => {
    writeFileSync(join(dir, 'frames.bin'), stream);
    // Answers `version` with the one format it writes; otherwise ignores the helper's arguments,
    // writes the stream in odd-sized pieces, then idles like a helper with nothing to report.
    const fake = join(dir, 'fake-helper.sh');
    writeFileSync(
      fake,
      `#!/bin/sh\n[ "$1" = version ] && { echo '{"stream_formats":["${format}"]}'; exit 0; }\n` +
        `dd if=${join(dir, 'frames.bin')} bs=777 status=none\nexec sleep 600\n`,
    );
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
    expect(await reader.value('sluice_reader_malformed_bytes_total')).toBe(stream.length - wholeBytes);
    expect(reader.proc.child.exitCode).toBeNull();
  });
});
