// Seeded mutations of flat JSON event lines, for tests that parse the same lines two ways (the
// sink's byte scanner against JSON.parse + zod): each mutation is one a scanner could get wrong —
// dropped, repeated or unknown keys, escapes, non-ASCII and broken UTF-8, whitespace, numbers of
// every shape, wrong types, truncation.

/** Values, as JSON text (some of it not JSON), that stress a scalar field. */
export const ODD_VALUES: readonly string[] = [
  // strings: escapes, non-ASCII, what JSON.stringify treats apart, empty, enum-like and time-like
  '"a\\"b"', '"\\u0041"', '"\\/"', '"\\ud800"', '"x\\n"', '"é"', '"✓ ok"', '"🚀"', '"\u2028"', '"\uFFFD"', '"\u00a0"', '""', '"\u0001"',
  '"allowed"', '"ALLOWED"', '"DENIED"', '"connect"', '"docker"', '"rule"', '"2001:db8::1"', '"[::1]"', '"a:b"',
  '"2024-02-29T00:00:00Z"', '"2023-02-29T00:00:00Z"', '"2026-01-01T24:00:00Z"', '"2026-01-01T12:00:00+01:00"', '"2026-01-01T12:00:00.1234567Z"', '"2026-01-01T12:00Z"', '"2026-01-01"',
  '"123"', '"18446744073709551615"', '"184467440737095516150"', '"-1"', '"1e3"',
  // numbers: big, negative, float, exponent, leading zeros, not JSON
  '0', '-0', '1', '443', '65535', '65536', '-1', '1.5', '1.0', '0.0', '1e3', '1E+2', '2e-1', '9007199254740991', '9007199254740992', '123456789012345', '1234567890123456',
  '1e400', '-1e400', '01', '1.', '.5', '+1', '0x10', 'NaN', 'Infinity', '-',
  // other types
  'true', 'false', 'null', '[]', '[1]', '{}', '{"a":1}', 'tru', 'nul',
];

const SPACES = [' ', '\t', '\r', '  ', '\u00a0', '\ufeff'];

type Entry = [key: string, value: string];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/**
 * One mutation (or a few) of the flat JSON object `line`, as bytes. `line` must be a flat object
 * as JSON.stringify writes it.
 */
export function mutateLine(r: () => number, line: string): Buffer {
  const obj = JSON.parse(line) as Record<string, unknown>;
  let entries: Entry[] = Object.entries(obj).map(([k, v]) => [k, JSON.stringify(v)]);
  let sep = { colon: ':', comma: ',', open: '{', close: '}' };
  const edits = 1 + Math.floor(r() * 3);
  let bytes: ((b: Buffer) => Buffer) | undefined;
  for (let n = 0; n < edits; n++) {
    const at = Math.floor(r() * entries.length);
    switch (Math.floor(r() * 12)) {
      case 0:
        entries.splice(at, 1);
        break;
      case 1: // the same key twice, with its own value or another
        entries.splice(at, 0, [entries[at]![0], r() < 0.5 ? entries[at]![1] : pick(r, ODD_VALUES)]);
        break;
      case 2:
      case 3:
      case 4:
        if (entries[at]) entries[at]![1] = pick(r, ODD_VALUES);
        break;
      case 5: // unknown, prototype-ish or escaped keys
        entries.splice(at, 0, [pick(r, ['extra', '__proto__', 'constructor', 'i\\u0064', 'Id', 'pid ', 'é']), pick(r, ['1', '"x"', 'null'])]);
        break;
      case 6:
        entries = entries.sort(() => r() - 0.5);
        break;
      case 7: {
        const s = pick(r, SPACES);
        sep = { ...pick(r, [{ ...sep, colon: `${s}:${s}` }, { ...sep, comma: `${s},${s}` }, { ...sep, open: `${s}{${s}` }, { ...sep, close: `${s}}${s}` }]) };
        break;
      }
      case 8: {
        const cut = r();
        bytes = (b) => b.subarray(0, Math.floor(cut * b.length));
        break;
      }
      case 9: {
        // Bytes that are not UTF-8 (a lone continuation, an overlong, a surrogate, past U+10FFFF), in a value.
        const bad = pick(r, [[0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x9c]]);
        const pos = r();
        bytes = (b) => {
          let q = b.indexOf(0x22, Math.floor(pos * b.length));
          if (q < 0) q = b.indexOf(0x22);
          return Buffer.concat([b.subarray(0, q + 1), Buffer.from(bad), b.subarray(q + 1)]);
        };
        break;
      }
      case 10: // a string value's type for a number's and the other way round
        if (entries[at]) entries[at]![1] = entries[at]![1].startsWith('"') ? entries[at]![1].slice(1, -1) || '0' : `"${entries[at]![1]}"`;
        break;
      default: // the value kept, written another way where JSON allows it
        if (entries[at]) entries[at]![1] = entries[at]![1].replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
    }
  }
  const text = `${sep.open}${entries.map(([k, v]) => `"${k}"${sep.colon}${v}`).join(sep.comma)}${sep.close}`;
  const b = Buffer.from(text, 'utf8');
  return bytes ? bytes(b) : b;
}
