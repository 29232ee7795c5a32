// The e2e bench's visibility watch on the real OpenSearch: a poll asks for what is past the newest
// sequence number seen plus the missing ones below it (a `terms` query on `_seq_no`), and returns
// only documents not seen yet.
import { afterAll, describe, expect, it } from 'vitest';
import { testServer, waitFor } from '@sluice/testkit';
import { pollBody, VisibilityWatch } from './visibility.ts';

const URL_ = testServer('OPENSEARCH_URL');
const index = `visibility-watch-${process.pid}-${Date.now() % 100000}`;

async function os(method: string, path: string, body?: unknown, ndjson = false): Promise<any> {
  const r = await fetch(`${URL_}/${path}`, {
    method,
    headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    ...(body === undefined ? {} : { body: ndjson ? (body as string) : JSON.stringify(body) }),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function index_(ids: number[]): Promise<void> {
  const t = new Date().toISOString();
  const body = ids.map((i) => `{"index":{"_id":"d${i}"}}\n{"@timestamp":"${t}"}\n`).join('');
  const r = await os('POST', `${index}/_bulk?refresh=true`, body, true);
  expect(r.errors).toBe(false);
}

afterAll(async () => {
  await fetch(`${URL_}/${index}`, { method: 'DELETE' });
});

describe('visibility watch', () => {
  it('a poll for the gaps and past the newest returns exactly the documents not seen', async () => {
    await os('PUT', index, { settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: { properties: { '@timestamp': { type: 'date' } } } });
    await index_([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // _seq_no 0..9
    const search = async (body: object) => ((await os('POST', `${index}/_search`, body)).hits.hits as Array<{ _id: string; _seq_no: number }>).map((h) => h._seq_no);
    expect(await search(pollBody(7, true, ['@timestamp'], [2, 5]))).toEqual([2, 5, 8, 9]);
    expect(await search(pollBody(9, true, ['@timestamp'], []))).toEqual([]);
    expect(await search(pollBody(-1, true, ['@timestamp']))).toHaveLength(10);
  });

  it('sees every document once, with a latency, across polls', async () => {
    const watch = new VisibilityWatch(URL_, index, 50);
    watch.start();
    await waitFor('the first ten', async () => (watch.seen >= 10 ? true : undefined), 10_000);
    await index_([10, 11, 12]);
    await waitFor('three more', async () => (watch.seen >= 13 ? true : undefined), 10_000);
    await watch.stop();
    expect(watch.seen).toBe(13);
    expect(watch.late).toBe(0);
    for (const d of watch.latencies.values()) expect(Number.isFinite(d.latencyMs)).toBe(true);
  });
});
