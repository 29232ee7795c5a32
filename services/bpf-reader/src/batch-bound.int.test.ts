// The default batch bound fits the server's max_payload in the worst case: DNS records whose
// 120-byte question name runs to the record's last byte cannot be trimmed, so each takes the
// packed format's full 4 + 256 bytes. A full default batch of them must be stored as one message
// (the helper is a stand-in that replays prepared records, as in reader-fuzz.int.test.ts).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { PACKED_ENTRY_HEADER, STREAMS, subjects } from '@sluice/contracts';
import { encodeRecord, purgeRaw, type Reader, readRaw, startReader, testServer, waitFor } from '@sluice/testkit';
import { env } from './config.ts';
import { RECORD_SIZE } from './layout.ts';

const NATS_URL = testServer('NATS_URL');
const NODE = `reader-bound-${process.pid}`;
const BOUND = env.READER_BATCH_RECORDS.parse(undefined);
const dir = mkdtempSync(join(tmpdir(), 'reader-bound-'));
let nc: NatsConnection;
let reader: Reader;

const qname = `${'q'.repeat(100)}.example.test`.padEnd(120, 'x');
// The first pipe chunk (256 records) goes out at once (idle-cut.ts), then a full batch is cut by
// size; the rest waits for the time bound.
const FIRST = 256;
const records = Array.from({ length: 2 * BOUND }, (_, i) => encodeRecord({ kind: 'dns', tsNs: BigInt(i + 1) * 1000n, qname }));

beforeAll(async () => {
  expect(qname.length).toBe(120);
  expect(records[0]![RECORD_SIZE - 1]).not.toBe(0); // nothing to trim: the worst case
  writeFileSync(join(dir, 'frames.bin'), Buffer.concat(records));
  const fake = join(dir, 'fake-helper.sh');
  writeFileSync(fake, `#!/bin/sh\ncat ${join(dir, 'frames.bin')}\nexec sleep 600\n`);
  chmodSync(fake, 0o755);
  nc = await connect({ servers: NATS_URL });
  await purgeRaw(nc, NODE);
  // A long time bound, so the batch is cut by size: the whole default bound in one message.
  reader = await startReader({ NATS_URL, NODE_NAME: NODE, SLUICE_BPF_BIN: fake, READER_STATE_DIR: dir, READER_RATE_PER_S: '0', READER_BATCH_MS: '60000' });
});

afterAll(async () => {
  const stopped = await reader?.stop();
  await purgeRaw(nc, NODE);
  await nc?.close();
  rmSync(dir, { recursive: true, force: true });
  expect(stopped?.code).toBe(0);
});

it(`a full default batch (${BOUND} records) of untrimmable records is stored as one message`, async () => {
  const got = await waitFor('the batch in JetStream', async () => {
    const r = await readRaw(nc, NODE);
    return r.records.length >= FIRST + BOUND ? r : undefined;
  }).catch(async (err: Error) => {
    throw new Error(`${err.message}; the reader said: ${reader.proc.stderr().slice(-3000)}; its metrics: ${(await reader.metrics()).split('\n').filter((l) => l.startsWith('sluice_')).join(' | ')}`);
  });
  const sizes = [...new Set(got.records.map((r) => r.meta))].map((m) => m.count);
  expect(sizes).toEqual([FIRST, BOUND]);
  const info = await (await jetstreamManager(nc)).streams.info(STREAMS.raw.name, { subjects_filter: subjects.raw(NODE) });
  // Bodies and headers together: each record at its full packed size, nothing trimmed.
  expect(info.state.bytes).toBeGreaterThan((FIRST + BOUND) * (PACKED_ENTRY_HEADER + RECORD_SIZE));
  expect(await reader.value('sluice_events_dropped_total', { stage: 'reader' })).toBe(0);
});
