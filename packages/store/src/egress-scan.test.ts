// The egress byte scanner must never change what the sink writes. The same batches are parsed with
// the scanner off (JSON.parse, the compiled check, zod, document.ts) and on: documents, ids,
// rejections and every byte of the batch's buffer must be identical. The lines are the
// attributor's real output (its render golden file) and thousands of seeded mutations of them
// and of generated events. The scanner must also really be taken: a fast path turned off, or one
// that refused everything, fails here too.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { egressEvent, mutateLine, seeded } from '@sluice/testkit/unit';
import { afterEach, describe, expect, it } from 'vitest';
import { openSearchClient } from './opensearch-client.ts';
import { OpenSearchWriter } from './opensearch-writer.ts';
import { isScanned, parseBatch, useEgressScan, type ParsedBatch } from './parse.ts';

const observed = '2026-01-01T12:00:01.000Z';
/** The sink's own frame (its `around` parts let the scanner write the action line from the id's bytes) and one without parts. */
const frames = {
  parts: new OpenSearchWriter(openSearchClient({ url: 'http://127.0.0.1:1' }), 'p-').frame,
  plain: (source: string, id: string) => `{"create":{"_index":"logs-${source}","_id":${JSON.stringify(id)}}}\n`,
  none: undefined,
};
type FrameKind = keyof typeof frames;

const golden = readFileSync(fileURLToPath(new URL('../../../services/attributor/src/__snapshots__/render-golden.ndjson', import.meta.url)), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{"id"'));
const goldenEgress = golden.filter((l) => l.includes('"verdict"'));

/** The attributor's lines with their non-ASCII labels made ASCII, so that both kinds are seen. */
const asciiGolden = goldenEgress.map((l) => l.replace(/[^\x00-\x7f]/gu, 'u'));

/** Generated events in every shape the body cares about. */
function generated(i: number): string {
  const over = [
    {},
    { audit: true, dst_host_stale: true },
    { agent: undefined, project: undefined, dst_host: undefined },
    { agent: undefined },
    { project: undefined, bytes_in: undefined },
    { bytes_in: undefined, bytes_out: undefined, duration_ms: 12.5 },
    { dst_ip: '2001:db8::1', dst_host: undefined, family: 'ipv6' as const },
    { dst_host: 'h:1', dst_host_stale: false, verdict: 'ALLOWED' as const },
    { kind: 'tcp_close' as const, duration_ms: 0, src_port: 40000, src_ip: '10.0.0.1', tid: 7 },
    { comm: 'a b[c]', node: `node-${i % 3}` },
  ][i % 10]!;
  return JSON.stringify(egressEvent(i, over));
}

interface Seen {
  docs: number;
  scanned: number;
  rejects: number;
}

/** The batch with the scanner off and on: identical in everything the sink and its tests read. */
function same(payload: Buffer, kind: FrameKind, seen: Seen): void {
  const f = frames[kind];
  useEgressScan(false);
  const want = parseBatch('egress', payload, observed, f);
  useEgressScan(true);
  const got = parseBatch('egress', payload, observed, f);
  expect(plain(got)).toStrictEqual(plain(want));
  expect(got.encoded!.utf8.equals(want.encoded!.utf8)).toBe(true);
  expect([...got.encoded!.starts]).toStrictEqual([...want.encoded!.starts]);
  expect([...got.encoded!.docStarts]).toStrictEqual([...want.encoded!.docStarts]);
  expect(got.framed).toBe(want.framed);
  seen.docs += got.docs.length;
  seen.scanned += got.docs.filter(isScanned).length;
  seen.rejects += got.rejects.length;
}

const plain = (b: ParsedBatch) => ({ docs: b.docs.map((d) => ({ id: d.id, doc: d.doc, json: d.json, stream: d.stream })), rejects: b.rejects });

const batch = (lines: Array<string | Buffer>, nl = '\n') => Buffer.concat(lines.flatMap((l, i) => [i ? Buffer.from(nl) : Buffer.alloc(0), Buffer.from(l)]));

describe('egress byte scanner', () => {
  afterEach(() => useEgressScan(true));

  it("writes the attributor's real lines exactly as the JSON.parse path does, and takes every ASCII one", () => {
    for (const kind of ['parts', 'plain', 'none'] as const) {
      const real: Seen = { docs: 0, scanned: 0, rejects: 0 };
      same(batch(golden), kind, real);
      // Its dns lines are egress rejections; its egress lines documents, most of them scanned
      // (the non-ASCII labels are UTF-8 the scanner copies as they are).
      expect(real.rejects).toBeGreaterThanOrEqual(golden.length - goldenEgress.length);
      expect(real.docs).toBeGreaterThan(goldenEgress.length - 5);
      expect(real.scanned).toBeGreaterThan(real.docs / 2);
      const ascii: Seen = { docs: 0, scanned: 0, rejects: 0 };
      same(batch(asciiGolden, '\r\n'), kind, ascii);
      expect(ascii.docs).toBe(real.docs);
      expect(ascii.scanned).toBeGreaterThan(real.docs / 2);
    }
  });

  it('writes generated events of every shape exactly as the JSON.parse path does, all of them scanned', () => {
    const seen: Seen = { docs: 0, scanned: 0, rejects: 0 };
    for (const kind of ['parts', 'plain', 'none'] as const) same(batch(Array.from({ length: 500 }, (_, i) => generated(i))), kind, seen);
    expect(seen).toStrictEqual({ docs: 1500, scanned: 1500, rejects: 0 });
  });

  it('agrees with the JSON.parse path on thousands of seeded mutations: same documents, rejections and bytes', () => {
    const seen: Seen = { docs: 0, scanned: 0, rejects: 0 };
    const bases = [...goldenEgress, ...asciiGolden, ...Array.from({ length: 50 }, (_, i) => generated(i))];
    for (let seed = 1; seed <= 4000; seed++) {
      const r = seeded(seed);
      const lines = Array.from({ length: 1 + Math.floor(r() * 6) }, () => {
        const base = bases[Math.floor(r() * bases.length)]!;
        return r() < 0.25 ? base : mutateLine(r, base);
      });
      try {
        same(batch(lines), (['parts', 'plain', 'none'] as const)[Math.floor(r() * 3)]!, seen);
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}\n${lines.map(String).join('\n')}`);
      }
    }
    console.error(`egress scan differential: ${JSON.stringify(seen)}`);
    // Every side was exercised: lines taken by the scanner, lines it left to JSON.parse that still
    // made documents, and rejections.
    expect(seen.scanned).toBeGreaterThan(4000);
    expect(seen.docs - seen.scanned).toBeGreaterThan(1000);
    expect(seen.rejects).toBeGreaterThan(1500);
  }, 120_000);
});
