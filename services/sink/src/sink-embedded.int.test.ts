// The embedded default: no OPENSEARCH_URL, and the real sink process writes the same documents to
// rotating NDJSON files that `readNdjsonStore` (and so `sluice tail --from-file`) reads back.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STREAMS } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvent, closeSlice, egressEvent, openSlice, publishAudit, publishEgress, type ServiceProcess, type Slice, startSink, stopService, waitFor } from '@sluice/testkit';
import { readNdjsonStore } from '@sluice/store';

const PORT = 19_483;
let s: Slice;
let dir: string;
let sink: ServiceProcess | undefined;

beforeAll(async () => {
  s = await openSlice('sinkfile');
  dir = await mkdtemp(join(tmpdir(), 'sink-embedded-'));
});

afterAll(async () => {
  if (sink) await stopService(sink, 5000);
  if (s) await closeSlice(s);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readAll(filter = {}) {
  const out = [];
  for await (const d of readNdjsonStore(dir, filter)) out.push(d);
  return out;
}

describe('sink embedded NDJSON store', () => {
  it('stores exactly the N events, rotating files, readable with filters', async () => {
    const N = 2000;
    // OPENSEARCH_URL set to empty counts as unset (parseEnv), selecting the file store.
    sink = await startSink(s, PORT, { OPENSEARCH_URL: '', SINK_DATA_DIR: dir, SINK_FILE_MAX_BYTES: String(256 * 1024) });
    const events = Array.from({ length: N }, (_, i) => egressEvent(i, { project: s.project }));
    await publishEgress(s, events, 100);
    await publishEgress(s, events.slice(0, 100), 100); // a redelivery-like duplicate batch
    await publishAudit(s, [auditEvent(1, { kind: s.auditKind })]);
    await waitFor(
      'all messages acked',
      async () => {
        const ci = await s.jsm.consumers.info(STREAMS.events.name, `${s.consumerPrefix}-egress`);
        return ci.num_pending === 0 && ci.num_ack_pending === 0 && ci.delivered.stream_seq > 0 ? true : undefined;
      },
      60_000,
    );
    const egress = await waitFor('egress docs', async () => {
      const docs = await readAll({ sources: ['egress'] });
      return docs.length >= N ? docs : undefined;
    });
    expect(egress.length).toBe(N);
    expect(new Set(egress.map((d) => d.attributes.id)).size).toBe(N);
    expect((await readdir(join(dir, 'egress'))).length).toBeGreaterThan(1);
    const denied = await readAll({ sources: ['egress'], agent: 'agent-3', verdict: 'DENIED' });
    expect(denied.map((d) => d.attributes.id).sort()).toEqual(
      events.filter((e) => e.agent === 'agent-3' && e.verdict === 'DENIED').map((e) => e.id).sort(),
    );
    const audit = await waitFor('audit doc', async () => {
      const docs = await readAll({ sources: ['overseer'] });
      return docs.length > 0 ? docs : undefined;
    });
    expect(audit[0]!.body).toMatch(/^AUDIT /);
    const r = await stopService(sink, 8000);
    sink = undefined;
    expect(r.code).toBe(0);
  });
});
