// The learner's line parser takes the schema's fast check before zod: it must yield what zod alone
// yields (same events, same invalid reasons), and hand back the line as the event's JSON only when
// zod would have returned the event unchanged (the denial feed splices that line into its notices).
import { EgressEvent } from '@sluice/contracts';
import { egressEvent, mutated } from '@sluice/testkit/unit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { egressLinesWithJson, type InvalidLine } from './egress-lines.ts';

/** The parser before the fast check: zod for every line. */
function reference(text: string): { events: unknown[]; invalid: InvalidLine[] } {
  const out: { events: unknown[]; invalid: InvalidLine[] } = { events: [], invalid: [] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      out.invalid.push('json');
      continue;
    }
    const r = EgressEvent.safeParse(json);
    if (r.success) out.events.push(r.data);
    else out.invalid.push('schema');
  }
  return out;
}

const validEgress = fc
  .tuple(fc.nat(100_000), fc.record({ dst_host_stale: fc.boolean(), duration_ms: fc.double({ min: 0, max: 1e9, noNaN: true }), verdict: fc.constantFrom('DENIED' as const) }, { requiredKeys: [] }))
  .map(([i, extra]) => ({ ...egressEvent(i), ...extra }));

describe('egressLinesWithJson', () => {
  it('yields exactly what zod alone yields, and the line only where it is the event unchanged', () => {
    let asIs = 0;
    let rebuilt = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 3, arbitrary: mutated(validEgress) }, fc.string()), { maxLength: 6 }), (lines) => {
        const text = lines.join('\n');
        const got = { events: [] as unknown[], invalid: [] as InvalidLine[] };
        for (const { event, json } of egressLinesWithJson(text, (why) => got.invalid.push(why))) {
          got.events.push(event);
          if (json === undefined) rebuilt++;
          else {
            asIs++;
            // The line handed back is the event's JSON: parsing it gives the event zod returned.
            expect(JSON.parse(json)).toStrictEqual(EgressEvent.parse(event));
          }
        }
        invalid += got.invalid.length;
        expect(JSON.parse(JSON.stringify(got))).toStrictEqual(JSON.parse(JSON.stringify(reference(text))));
      }),
      { numRuns: 2000 },
    );
    // Every branch was exercised: lines passed as they came, events zod rebuilt (unknown keys stripped), rejections.
    expect(asIs).toBeGreaterThan(200);
    expect(rebuilt).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(500);
    // A property test: thousands of generated batches. A budget on a loaded 2-core machine, not a timing assertion.
  }, 60_000);
});
