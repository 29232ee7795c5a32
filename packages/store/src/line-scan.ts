// A byte-level check of one NDJSON line against a flat object schema, without JSON.parse and
// without building the value: the line must be one JSON object whose keys are the schema's
// (each once, every required one present) and whose values are scalars its rules accept. It
// reports where the values the caller wants lie in the bytes. One-sided, like schema-fast-check.ts:
// `true` means JSON.parse would succeed and zod would return the parsed value unchanged; anything
// it is not sure of (an escape, an unknown or repeated key, a nested value, null, a number it cannot
// reproduce, bytes that are not UTF-8) is `false`, and the caller takes the JSON.parse + zod path,
// whose verdicts and messages stay the only ones reported.
import type { FieldRule } from '@sluice/contracts';
import { isoDatetimeBytes } from './iso-datetime-bytes.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

const STRING = 0;
const ENUM = 1;
const NUMBER = 2;
const BOOLEAN = 3;

/** More digits than this and the value is not accumulated exactly in a double (15 < log10 2^53). */
const EXACT_DIGITS = 15;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

// What a byte inside a JSON string is: one table load per byte instead of four comparisons.
const PLAIN = 0;
const END = 1;
const REFUSED = 2; // a control character or a backslash (escapes go to JSON.parse)
const HIGH = 3; // the lead of a multi-byte UTF-8 sequence (or not UTF-8)
const STRING_BYTE = new Uint8Array(256).map((_, c) => (c === QUOTE ? END : c < 0x20 || c === BACKSLASH ? REFUSED : c >= 0x80 ? HIGH : PLAIN));

/** Bytes in the well-formed UTF-8 sequence at b[i] (a lead byte ≥ 0x80), 0 when ill-formed (Unicode Table 3-7). */
function utf8Length(b: Uint8Array, i: number, e: number): number {
  const c = b[i]!;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => j < e && b[j]! >= lo && b[j]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf; // no UTF-16 surrogates
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf; // nothing past U+10FFFF
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** A pattern as a test on bytes when it is one of the simple shapes contracts use (`^\d{m,n}$`). */
function bytePattern(re: RegExp): ((b: Uint8Array, s: number, e: number) => boolean) | undefined {
  const m = re.flags === '' ? /^\^\\d\{(\d+),(\d+)\}\$$/.exec(re.source) : null;
  if (m === null) return undefined;
  const [min, max] = [Number(m[1]), Number(m[2])];
  return (b, s, e) => {
    if (e - s < min || e - s > max) return false;
    for (let i = s; i < e; i++) if (b[i]! < ZERO || b[i]! > NINE) return false;
    return true;
  };
}

interface StringTest {
  minLength: number;
  maxLength: number;
  bytes: Array<(b: Uint8Array, s: number, e: number) => boolean>;
  regexes: RegExp[];
}

export class LineScan {
  /** Wanted field i's value is bytes [at[2i], at[2i + 1]) (a string's inside its quotes); at[2i] is -1 when absent. */
  readonly at: Int32Array;
  /** Whether wanted field i's string holds bytes past ASCII (decode it as UTF-8, not Latin-1). */
  readonly wide: Uint8Array;
  private readonly keys: Buffer[] = [];
  private readonly kind: number[] = [];
  private readonly required: boolean[] = [];
  private readonly want: number[] = [];
  private readonly strings: Array<StringTest | undefined> = [];
  private readonly enums: Array<Buffer[] | undefined> = [];
  private readonly numbers: Array<((n: number) => boolean) | undefined> = [];
  private readonly buckets: number[][] = Array.from({ length: 64 }, () => []);
  /** Per field, the field that followed it in the last line (the last slot: the first field); -1 none. */
  private readonly next: Int32Array;
  private readonly seen: Uint32Array;
  private readonly requiredCount: number;
  private gen = 0;

  /** `wanted`: the fields whose places `at` reports; a wanted number must be written as `String(n)` would. */
  constructor(rules: ReadonlyMap<string, FieldRule>, wanted: readonly string[]) {
    for (const w of wanted) if (!rules.has(w)) throw new Error(`line scan: wanted field ${w} is not in the schema`);
    let required = 0;
    for (const [key, r] of rules) {
      const f = this.keys.length;
      const k = Buffer.from(key);
      this.keys.push(k);
      this.required.push(r.required);
      if (r.required) required++;
      this.want.push(wanted.indexOf(key));
      this.kind.push(r.type === 'string' ? STRING : r.type === 'enum' ? ENUM : r.type === 'number' ? NUMBER : BOOLEAN);
      this.strings.push(r.type === 'string' ? { minLength: r.minLength, maxLength: r.maxLength, ...splitPatterns(r.patterns) } : undefined);
      this.enums.push(r.type === 'enum' ? r.values.map((v) => Buffer.from(v)) : undefined);
      this.numbers.push(r.type === 'number' ? r.check : undefined);
      // Keys that are not plain ASCII never match a scanned key (those are refused): left out.
      if (/^[\x20-\x7f]*$/.test(key) && !key.includes('"') && !key.includes('\\')) this.buckets[hashOf(k, 0, k.length) & 63]!.push(f);
    }
    this.requiredCount = required;
    this.seen = new Uint32Array(this.keys.length);
    this.next = new Int32Array(this.keys.length + 1).fill(-1);
    this.at = new Int32Array(wanted.length * 2);
    this.wide = new Uint8Array(wanted.length);
  }

  /** Check the JSON value in b[s, e) (no whitespace around it); fills `at` and `wide` when true. */
  scan(b: Uint8Array, s: number, e: number): boolean {
    if (++this.gen === 0xffffffff) {
      this.seen.fill(0);
      this.gen = 1;
    }
    const gen = this.gen;
    const at = this.at;
    for (let w = 0; w < at.length; w += 2) at[w] = -1;
    let i = s;
    if (b[i] !== OPEN) return false;
    let required = 0;
    let prev = this.keys.length;
    for (;;) {
      i++;
      while (i < e && isSpace(b[i]!)) i++;
      if (b[i] !== QUOTE || i >= e) return false;
      // Lines of a stream have their keys in one order: the key that came next last time is tried
      // first, by its bytes, before the key is hashed and looked up.
      let f = this.next[prev]!;
      const k0 = ++i;
      if (f < 0 || !this.keyAt(f, b, k0, e)) {
        let h = 0;
        for (;;) {
          if (i >= e) return false;
          const c = b[i]!;
          const t = STRING_BYTE[c]!;
          if (t !== PLAIN) {
            if (t === END) break;
            return false;
          }
          h = (Math.imul(h, 31) + c) | 0;
          i++;
        }
        f = this.lookup(b, k0, i, h);
        if (f < 0) return false;
        this.next[prev] = f;
      } else i += this.keys[f]!.length;
      prev = f;
      if (this.seen[f] === gen) return false;
      this.seen[f] = gen;
      if (this.required[f]) required++;
      i++;
      while (i < e && isSpace(b[i]!)) i++;
      if (b[i] !== COLON || i >= e) return false;
      i++;
      while (i < e && isSpace(b[i]!)) i++;
      if (i >= e) return false;
      const kind = this.kind[f]!;
      i = kind === NUMBER ? this.number(b, i, e, f) : kind === BOOLEAN ? this.boolean(b, i, e, f) : this.string(b, i, e, f);
      if (i < 0) return false;
      while (i < e && isSpace(b[i]!)) i++;
      if (i >= e) return false;
      const c = b[i]!;
      if (c === CLOSE) break;
      if (c !== COMMA) return false;
    }
    return i + 1 === e && required === this.requiredCount;
  }

  /** Whether field f's key (plain ASCII), then its closing quote, lies at b[s]. */
  private keyAt(f: number, b: Uint8Array, s: number, e: number): boolean {
    const k = this.keys[f]!;
    const n = k.length;
    if (s + n >= e || b[s + n] !== QUOTE) return false;
    for (let j = 0; j < n; j++) if (k[j] !== b[s + j]) return false;
    return true;
  }

  private lookup(b: Uint8Array, s: number, e: number, h: number): number {
    const n = e - s;
    next: for (const f of this.buckets[h & 63]!) {
      const k = this.keys[f]!;
      if (k.length !== n) continue;
      for (let j = 0; j < n; j++) if (k[j] !== b[s + j]) continue next;
      return f;
    }
    return -1;
  }

  /** A string (or enum) value at b[i]: the index past its closing quote, or -1. */
  private string(b: Uint8Array, i: number, e: number, f: number): number {
    if (b[i] !== QUOTE) return -1;
    const v0 = ++i;
    let units = 0;
    let wide = false;
    for (;;) {
      if (i >= e) return -1;
      const t = STRING_BYTE[b[i]!]!;
      if (t === PLAIN) {
        i++;
        units++;
        continue;
      }
      if (t === END) break;
      if (t === REFUSED) return -1;
      const n = utf8Length(b, i, e);
      if (n === 0) return -1;
      wide = true;
      i += n;
      units += n === 4 ? 2 : 1;
    }
    const v1 = i;
    const st = this.strings[f];
    if (st !== undefined) {
      if (units < st.minLength || units > st.maxLength) return -1;
      for (const t of st.bytes) if (!t(b, v0, v1)) return -1;
      if (st.regexes.length > 0) {
        const text = Buffer.prototype.toString.call(b, wide ? 'utf8' : 'latin1', v0, v1);
        for (const re of st.regexes) if (!re.test(text)) return -1;
      }
    } else if (!this.isValue(this.enums[f]!, b, v0, v1)) return -1;
    const w = this.want[f]!;
    if (w >= 0) {
      this.at[2 * w] = v0;
      this.at[2 * w + 1] = v1;
      this.wide[w] = wide ? 1 : 0;
    }
    return i + 1;
  }

  private isValue(values: Buffer[], b: Uint8Array, s: number, e: number): boolean {
    const n = e - s;
    next: for (const v of values) {
      if (v.length !== n) continue;
      for (let j = 0; j < n; j++) if (v[j] !== b[s + j]) continue next;
      return true;
    }
    return false;
  }

  /**
   * A JSON number at b[i] (RFC 8259's grammar; what follows is the caller's to check): the index
   * past it, or -1. Short integers are accumulated exactly; any other is converted as JSON.parse
   * converts it. A wanted number must be a short integer written canonically (no `-0`), so that
   * its bytes are what `String(n)` gives.
   */
  private number(b: Uint8Array, i: number, e: number, f: number): number {
    const n0 = i;
    const neg = b[i] === MINUS;
    if (neg) i++;
    if (i >= e) return -1;
    let v = 0;
    let digits = 0;
    if (b[i] === ZERO) {
      i++;
      digits = 1;
    } else {
      while (i < e && b[i]! >= ZERO && b[i]! <= NINE) {
        v = v * 10 + (b[i]! - ZERO);
        digits++;
        i++;
      }
      if (digits === 0) return -1;
    }
    let plain = digits <= EXACT_DIGITS && !(neg && v === 0);
    if (i < e && b[i] === DOT) {
      plain = false;
      const d0 = ++i;
      while (i < e && b[i]! >= ZERO && b[i]! <= NINE) i++;
      if (i === d0) return -1;
    }
    if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
      plain = false;
      i++;
      if (i < e && (b[i] === 0x2b || b[i] === MINUS)) i++;
      const d0 = i;
      while (i < e && b[i]! >= ZERO && b[i]! <= NINE) i++;
      if (i === d0) return -1;
    }
    const w = this.want[f]!;
    if (w >= 0 && !plain) return -1;
    const n = plain ? (neg ? -v : v) : Number(Buffer.prototype.toString.call(b, 'latin1', n0, i));
    if (!this.numbers[f]!(n)) return -1;
    if (w >= 0) {
      this.at[2 * w] = n0;
      this.at[2 * w + 1] = i;
    }
    return i;
  }

  private boolean(b: Uint8Array, i: number, e: number, f: number): number {
    const word = b[i] === 0x74 ? TRUE : FALSE;
    if (e - i < word.length) return -1;
    for (let j = 0; j < word.length; j++) if (b[i + j] !== word[j]) return -1;
    const w = this.want[f]!;
    if (w >= 0) {
      this.at[2 * w] = i;
      this.at[2 * w + 1] = i + word.length;
    }
    return i + word.length;
  }
}

function splitPatterns(patterns: RegExp[]): { bytes: StringTest['bytes']; regexes: RegExp[] } {
  const bytes: StringTest['bytes'] = [];
  const regexes: RegExp[] = [];
  for (const re of patterns) {
    const t = bytePattern(re) ?? isoDatetimeBytes(re);
    if (t !== undefined) bytes.push(t);
    else regexes.push(re);
  }
  return { bytes, regexes };
}

function hashOf(b: Uint8Array, s: number, e: number): number {
  let h = 0;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  return h;
}
