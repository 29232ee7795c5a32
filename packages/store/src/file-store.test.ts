import { mkdtemp, readdir, rm, writeFile, appendFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dnsEvent, egressEvent, ndjson } from '@sluice/testkit/unit';
import { FileStoreWriter, readNdjsonStore } from './file-store.ts';
import { parseBatch } from './parse.ts';
import type { BulkItem } from './writer.ts';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'sink-store-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

function items(source: 'egress' | 'dns', from: number, n: number): BulkItem[] {
  const events = Array.from({ length: n }, (_, i) => (source === 'egress' ? egressEvent(from + i) : dnsEvent(from + i)));
  return parseBatch(source, ndjson(events), 'now').docs.map((d) => ({ source, id: d.id, json: JSON.stringify(d.doc) }));
}

async function all(filter = {}) {
  const out = [];
  for await (const d of readNdjsonStore(dir, filter)) out.push(d);
  return out;
}

describe('NDJSON store', () => {
  it('writes, rotates by size, and reads every event once in order', async () => {
    const w = new FileStoreWriter({ dir, maxFileBytes: 4000, retentionMs: 86_400_000 });
    expect((await w.write(items('egress', 0, 30))).every((o) => o.kind === 'created')).toBe(true);
    await w.write(items('egress', 30, 30));
    await w.write(items('egress', 0, 10)); // a redelivery
    await w.write(items('dns', 0, 5));
    await w.close();
    expect((await readdir(join(dir, 'egress'))).length).toBeGreaterThan(1);
    const docs = await all();
    expect(docs.filter((d) => d.attributes.qname === undefined).map((d) => d.attributes.id)).toEqual(
      Array.from({ length: 60 }, (_, i) => `node-t:boot:${i}`),
    );
    expect(docs.length).toBe(65);
  });

  it('filters by source, agent, verdict and time', async () => {
    const w = new FileStoreWriter({ dir, maxFileBytes: 1 << 20, retentionMs: 86_400_000 });
    await w.write(items('egress', 0, 24));
    await w.write(items('dns', 0, 8));
    await w.close();
    const denied1 = await all({ sources: ['egress'], agent: 'agent-1', verdict: 'DENIED' });
    // i % 4 == 1 and i % 3 == 1 → i ≡ 1 (mod 12): 1, 13
    expect(denied1.map((d) => d.attributes.id)).toEqual(['node-t:boot:1', 'node-t:boot:13']);
    expect((await all({ sources: ['dns'] })).length).toBe(8);
    const since = new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + 20);
    expect((await all({ sources: ['egress'], since })).length).toBe(4);
  });

  it('skips a torn last line, reporting it, and reads on', async () => {
    const w = new FileStoreWriter({ dir, maxFileBytes: 1 << 20, retentionMs: 86_400_000 });
    await w.write(items('egress', 0, 3));
    await w.close();
    const [file] = await readdir(join(dir, 'egress'));
    await appendFile(join(dir, 'egress', file!), '{"@timestamp":"2026');
    const bad: number[] = [];
    const docs = [];
    for await (const d of readNdjsonStore(dir, {}, (_f, line) => bad.push(line))) docs.push(d);
    expect(docs.length).toBe(3);
    expect(bad).toEqual([4]);
  });

  it('deletes files past retention when it rotates', async () => {
    await writeFile(join(dir, 'placeholder'), '');
    const w1 = new FileStoreWriter({ dir, maxFileBytes: 1, retentionMs: 60_000 });
    await w1.write(items('egress', 0, 1));
    await w1.close();
    const [old] = await readdir(join(dir, 'egress'));
    const past = new Date(Date.now() - 120_000);
    await utimes(join(dir, 'egress', old!), past, past);
    const w2 = new FileStoreWriter({ dir, maxFileBytes: 1, retentionMs: 60_000 });
    await w2.write(items('egress', 1, 1));
    await w2.close();
    const left = await readdir(join(dir, 'egress'));
    expect(left).not.toContain(old);
    expect(left.length).toBe(1);
  });
});
