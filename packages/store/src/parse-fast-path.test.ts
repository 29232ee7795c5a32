// The fast path must never change what the sink does. Random events, valid and broken in every
// field, are parsed by parseBatch (fast check + spliced serialization) and by the zod-only
// reference below (parseBatch as it was before the fast path): documents, bytes and rejection
// messages must be identical.
import { AuditEvent, compileFastCheck, DnsEvent, EgressEvent } from '@sluice/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dnsEvent, egressEvent, mutated } from '@sluice/testkit/unit';
import { auditDocument, dnsDocument, egressDocument, type Ss4oDocument, type SourceName } from './document.ts';
import { fastChecked, parseBatch } from './parse.ts';

const observed = '2026-01-01T12:00:01.000Z';

/** parseBatch before the fast path: zod for every line, `JSON.stringify` for the document head. */
function reference(source: SourceName, payload: string): ReturnType<typeof parseBatch> {
  const { schema, build } = {
    egress: { schema: EgressEvent, build: egressDocument },
    dns: { schema: DnsEvent, build: dnsDocument },
    overseer: { schema: AuditEvent, build: auditDocument },
  }[source] as { schema: z.ZodType<{ id: string }>; build: (e: never, o: string) => Ss4oDocument };
  const out: ReturnType<typeof parseBatch> = { docs: [], rejects: [] };
  payload.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.rejects.push({ kind: 'not_json', reason: `line ${i + 1}: ${(err as Error).message}`, raw, line: i + 1 });
      return;
    }
    const r = schema.safeParse(value);
    if (!r.success) {
      const reason = r.error.issues
        .slice(0, 5)
        .map((x) => `${x.path.length ? x.path.join('.') : '(root)'}: ${x.message}`)
        .join('; ');
      out.rejects.push({ kind: 'schema', reason: `line ${i + 1}: ${reason}`, raw, line: i + 1 });
      return;
    }
    const doc = build(r.data as never, observed);
    let json: string;
    if (Object.keys(value as object).length !== Object.keys(r.data).length) json = JSON.stringify(doc);
    else {
      const { attributes: _a, ...rest } = doc;
      json = `${JSON.stringify(rest).slice(0, -1)},"attributes":${raw.trim()}}`;
    }
    out.docs.push({ id: r.data.id, doc, json });
  });
  return out;
}

const validEgress = fc
  .tuple(fc.nat(100_000), fc.record({ dst_host_stale: fc.boolean(), duration_ms: fc.double({ min: 0, max: 1e9, noNaN: true }), src_port: fc.integer({ min: 0, max: 65535 }) }, { requiredKeys: [] }))
  .map(([i, extra]) => ({ ...egressEvent(i), ...extra }));
const validDns = fc.nat(100_000).map((i) => dnsEvent(i));

/** A batch as plain data (its documents' JSON decoded from the batch's buffer), checked against that buffer. */
function plain(b: ReturnType<typeof parseBatch>): ReturnType<typeof parseBatch> {
  const docs = b.docs.map((d) => ({ id: d.id, doc: d.doc, json: d.json }));
  expect(b.encoded?.utf8.toString() ?? '').toBe(docs.map((d) => `${d.json}\n`).join(''));
  return { docs, rejects: b.rejects };
}

describe('fast path', () => {
  it('exists for the hot sources (a contracts change that defeats it would only slow the sink)', () => {
    expect(fastChecked('egress')).toBe(true);
    expect(fastChecked('dns')).toBe(true);
  });

  it('parses egress batches exactly as zod alone does: same documents, same bytes, same rejections', () => {
    let docs = 0;
    let schemaRejects = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 3, arbitrary: mutated(validEgress) }, fc.string(), fc.constant('{"a":1e400}')), { maxLength: 8 }), (lines) => {
        const payload = lines.join('\n');
        const got = parseBatch('egress', payload, observed);
        expect(plain(got)).toStrictEqual(reference('egress', payload));
        docs += got.docs.length;
        schemaRejects += got.rejects.filter((r) => r.kind === 'schema').length;
      }),
      { numRuns: 3000 },
    );
    // Both sides of the comparison were really exercised.
    expect(docs).toBeGreaterThan(1000);
    expect(schemaRejects).toBeGreaterThan(1000);
    // A property test: thousands of generated batches. A budget on a loaded 2-core machine, not a timing assertion.
  }, 60_000);

  it('parses dns and audit batches exactly as zod alone does', () => {
    fc.assert(
      fc.property(fc.array(mutated(validDns), { maxLength: 5 }), (lines) => {
        const payload = lines.join('\n');
        expect(plain(parseBatch('dns', payload, observed))).toStrictEqual(reference('dns', payload));
        expect(plain(parseBatch('overseer', payload, observed))).toStrictEqual(reference('overseer', payload));
      }),
      { numRuns: 1000 },
    );
    // A property test: thousands of generated batches. A budget on a loaded 2-core machine, not a timing assertion.
  }, 60_000);

  it('accepts every valid event it is given, so the hot path is really taken', () => {
    const check = compileFastCheck(EgressEvent)!;
    fc.assert(fc.property(validEgress, (e) => check(JSON.parse(JSON.stringify(e))) === true));
    // Numbers zod refuses though JSON carries them: out of safe-integer range, infinite.
    expect(check({ ...egressEvent(1), pid: 2 ** 53 })).toBe(false);
    expect(check({ ...egressEvent(1), duration_ms: Infinity })).toBe(false);
  });

  it('declines schemas it cannot vouch for, leaving them to zod', () => {
    expect(compileFastCheck(z.object({ a: z.string() }).refine(() => false))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().trim() }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().default('x') }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().refine((s) => s !== 'x') }))).toBeUndefined();
    expect(compileFastCheck(z.strictObject({ a: z.string() }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.record(z.string().min(1), z.string()) }))).toBeUndefined();
    // Records of string keys are vouched for, except a `__proto__` key (zod's copy would lose it as an own property).
    const rec = compileFastCheck(z.object({ a: z.record(z.string(), z.unknown()) }))!;
    expect(rec({ a: { x: [1], y: { z: null } } })).toBe(true);
    expect(rec(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toBe(false);
    expect(rec({ a: [1] })).toBe(false);
    expect(compileFastCheck(z.object({ a: z.union([z.string(), z.number()]) }))).toBeUndefined();
    expect(compileFastCheck(z.string())).toBeUndefined();
    // Its subject/detail records are vouched for now (record support).
    expect(compileFastCheck(AuditEvent)).toBeDefined();
  });

  // checkedDocumentHead quotes `@timestamp` as it is: it relies on every string the schemas'
  // `time` check accepts having nothing JSON escapes. Every ASCII character and the other units
  // JSON or JavaScript treat apart, put in each place of a valid time (and added at its end):
  // whatever a schema accepts stringifies to itself in quotes.
  it('quotes only timestamps that JSON.stringify leaves as they are', () => {
    const valid = '2026-01-01T12:00:00.123Z';
    const units = [...Array.from({ length: 0x100 }, (_, u) => u), 0x2028, 0x2029, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfeff, 0xff10, 0xffff];
    for (const schema of [EgressEvent, DnsEvent, AuditEvent]) {
      const time = schema.shape.time;
      let accepted = 0;
      for (let pos = 0; pos <= valid.length; pos++) {
        for (const u of units) {
          const s = valid.slice(0, pos) + String.fromCharCode(u) + valid.slice(pos + 1);
          if (!time.safeParse(s).success) continue;
          accepted++;
          expect(JSON.stringify(s)).toBe(`"${s}"`);
        }
      }
      expect(accepted).toBeGreaterThan(100); // the loop did see accepted times
    }
  });
});

