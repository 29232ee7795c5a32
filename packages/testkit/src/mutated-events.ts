// Event lines generated for property tests of the event parsers (the sink's, the learner's): a
// valid event with fields dropped, replaced with values on every edge the schemas draw, or added,
// padded with whitespace. Both sides of "the fast check says exactly what zod says" get exercised.
import { VERDICTS } from '@sluice/contracts';
import fc from 'fast-check';

// Values that sit on every edge the schemas draw: types, bounds, integers, formats, enums.
export const junk = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -0, -1, 1.5, 65535, 65536, 2 ** 53, 2 ** 53 - 1, '', '1', 'x', '-1', '123456789012345678901'),
  fc.constantFrom<unknown>('2026-01-01T12:00:00Z', '2026-02-30T12:00:00Z', '2026-01-01T12:00:00+01:00', '2026-01-01 12:00:00Z'),
  fc.constantFrom<unknown>(...VERDICTS, 'allowed', 'connect', 'docker', 'ipv4', 'ipv7', 'rule', []),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const extraKey = fc.constantFrom('prompt', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'agent ', 'ID');

/** A valid event, then a few fields dropped, replaced with junk, or added. */
export function mutated<T extends object>(valid: fc.Arbitrary<T>): fc.Arbitrary<string> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('drop', 'junk'), junk), { maxLength: 3 }),
      fc.array(fc.tuple(extraKey, junk), { maxLength: 1 }),
      fc.constantFrom('', ' ', '\r', '\t'),
    )
    .map(([event, edits, extras, pad]) => {
      const keys = Object.keys(event);
      // Rebuilt key by key so a "__proto__" extra becomes an own key, as JSON.parse makes it.
      const fields: Array<[string, unknown]> = Object.entries(event);
      for (const [n, op, value] of edits) {
        const k = keys[n % keys.length]!;
        const at = fields.findIndex(([f]) => f === k);
        if (at < 0) continue;
        if (op === 'drop') fields.splice(at, 1);
        else fields[at] = [k, value];
      }
      for (const [k, value] of extras) fields.push([k, value]);
      const body = fields.map(([k, v]) => `${JSON.stringify(k)}:${v === undefined ? 'null' : JSON.stringify(v)}`).join(',');
      return `${pad}{${body}}${pad}`;
    });
}
