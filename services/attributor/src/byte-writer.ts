// A growable byte buffer that render writes a raw batch's NDJSON lines into, and the writes it
// needs: constant byte runs, decimal integers (u64 included, without BigInt), and JSON strings
// straight from the kernel record's bytes. It replaces a string per record (built, flattened,
// encoded, copied) with one pass from the record to the message bytes. The caller reserves room
// for a whole line first (`ensure`); the writes themselves do not check.
import { WordRun as Run } from '@sluice/runtime';

export type Utf8Buffer = Buffer & { utf8Write(s: string, offset: number): number };

/** Where a writer's buffers come from and go back to (a BufferPool); default a new one each time. */
export interface Buffers {
  take(min: number): Buffer;
  give(b: Uint8Array): void;
}

const BYTES_SET_MIN = 8;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON.stringify's escapes for the bytes that need one (control characters, `"` and `\`), as bytes. */
const ESCAPES: Array<Uint8Array | undefined> = Array.from({ length: 128 }, (_, c) =>
  c < 0x20 || c === QUOTE || c === BACKSLASH ? Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1), 'latin1') : undefined,
);

/** `00`…`99` as ASCII digit pairs: PAIRS[2k], PAIRS[2k + 1]. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

/** Digits of n ≥ 10^10 (below 2^53). */
function decimalLength(n: number): number {
  return n < 1e11 ? 11 : n < 1e12 ? 12 : n < 1e13 ? 13 : n < 1e14 ? 14 : n < 1e15 ? 15 : 16;
}

/** `0000`…`9999` as ASCII, each one little-endian word: four digits a division, one store. */
const QUADS = Uint32Array.from({ length: 10000 }, (_, i) => {
  const d = String(i).padStart(4, '0');
  return (d.charCodeAt(0) | (d.charCodeAt(1) << 8) | (d.charCodeAt(2) << 16) | (d.charCodeAt(3) << 24)) >>> 0;
});

/** `n`'s last `len` decimal digits (zero-padded) into [end - len, end): four a division, then two, then one. */
function writeDigits(b: Uint8Array, v: DataView, end: number, n: number, len: number): void {
  let e = end;
  const stop = end - len;
  while (e - stop >= 4) {
    const q = Math.floor(n / 10000);
    e -= 4;
    v.setUint32(e, QUADS[n - q * 10000]!, true);
    n = q;
  }
  if (e - stop >= 2) {
    const q = Math.floor(n / 100);
    const r = (n - q * 100) * 2;
    b[--e] = PAIRS[r + 1]!;
    b[--e] = PAIRS[r]!;
    n = q;
  }
  if (e > stop) b[--e] = 48 + (n % 10);
}

/** Longest run written word by word; a longer one is one TypedArray set (a ~20–25 ns call at best, any length; words cost ~0.6 ns a byte). */
const RUN_WORDS_MAX = 12;

/** A constant byte run (runtime's WordRun): ByteWriter.run stores it a word a step; a line has ~20 such runs, most of 4–40 bytes. */
export { Run };

export class ByteWriter {
  buf: Utf8Buffer;
  pos = 0;
  private view: DataView;

  constructor(
    capacity: number,
    private readonly buffers?: Buffers,
  ) {
    const n = Math.max(capacity, 1024);
    this.buf = (buffers ? buffers.take(n) : Buffer.allocUnsafe(n)) as Utf8Buffer;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const size = Math.max(this.buf.length * 2, this.pos + n);
    const next = (this.buffers ? this.buffers.take(size) : Buffer.allocUnsafe(size)) as Utf8Buffer;
    this.buf.copy(next, 0, 0, this.pos);
    // Nothing else reads the old one: messages are cut from the buffer once every line is written.
    this.buffers?.give(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  bytes(src: Uint8Array): void {
    const n = src.length;
    const b = this.buf;
    const o = this.pos;
    // TypedArray set is a memmove behind a call of ~20 ns; a JS loop costs ~2 ns a byte.
    if (n >= BYTES_SET_MIN) b.set(src, o);
    else for (let k = 0; k < n; k++) b[o + k] = src[k]!;
    this.pos = o + n;
  }

  /**
   * A constant run. Its last word may store up to 3 bytes past the run: they lie inside the room
   * `ensure` reserved (every reservation has slack for a line's closing bytes) and the next write
   * overwrites them; nothing reads past `pos`.
   */
  run(r: Run): void {
    const words = r.words;
    const n = words.length;
    const o = this.pos;
    if (n > RUN_WORDS_MAX) this.buf.set(r.bytes, o);
    else {
      const v = this.view;
      for (let k = 0; k < n; k++) v.setUint32(o + k * 4, words[k]!, true);
    }
    this.pos = o + r.length;
  }

  /** The first `n` bytes of `src`. */
  bytesN(src: Uint8Array, n: number): void {
    const b = this.buf;
    const o = this.pos;
    for (let k = 0; k < n; k++) b[o + k] = src[k]!;
    this.pos = o + n;
  }

  /** A string the caller knows is ASCII. */
  ascii(s: string): void {
    const b = this.buf;
    const o = this.pos;
    const n = s.length;
    for (let k = 0; k < n; k++) b[o + k] = s.charCodeAt(k);
    this.pos = o + n;
  }

  /** Any string, UTF-8 (room: 3 bytes a UTF-16 unit). */
  utf8(s: string): void {
    this.pos += this.buf.utf8Write(s, this.pos);
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    // The length by comparison (a division costs more), then two digits a division from the end.
    const len = n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : n < 1e10 ? 10 : decimalLength(n);
    const e = this.pos + len;
    this.pos = e;
    writeDigits(b, this.view, e, n, len);
  }

  /** 0–999 as three digits, zero-padded. */
  digits3(n: number): void {
    const b = this.buf;
    const o = this.pos;
    const h = Math.floor(n / 100);
    const t = (n - h * 100) * 2;
    b[o] = 48 + h;
    b[o + 1] = PAIRS[t]!;
    b[o + 2] = PAIRS[t + 1]!;
    this.pos = o + 3;
  }

  /** The u64 `hi·2^32 + lo` in decimal, exactly (as BigInt's toString spells it). */
  u64(lo: number, hi: number): void {
    if (hi < 0x200000) {
      this.uint(hi * 4294967296 + lo);
      return;
    }
    // Past 2^53: q·10^10 + r, by long division of (hi, lo>>>16, lo&0xffff) by 10^10; every
    // intermediate stays below 2^53. q is at least 900719 (2^53 / 10^10), r gets all ten digits.
    const t = hi * 65536 + (lo >>> 16);
    const q1 = Math.floor(t / 1e10);
    const u = (t - q1 * 1e10) * 65536 + (lo & 0xffff);
    const q0 = Math.floor(u / 1e10);
    this.uint(q1 * 65536 + q0);
    const e = this.pos + 10;
    this.pos = e;
    writeDigits(this.buf, this.view, e, u - q0 * 1e10, 10);
  }

  /**
   * `"…"`: the NUL-terminated text in `src[at, at + max)` as JSON.stringify writes it, in UTF-8.
   * ASCII is escaped here, byte by byte; text with any other byte is decoded by `decode` (as the
   * string the event always carried) and encoded from that. Room: 6 bytes a source byte + 2.
   */
  jsonCString(src: Uint8Array, at: number, max: number, decode: (bytes: Uint8Array) => string): void {
    const limit = at + max;
    let end = at;
    let plain = true;
    let ascii = true;
    while (end < limit) {
      const c = src[end]!;
      if (c === 0) break;
      if (c >= 0x80) ascii = false;
      else if (c < 0x20 || c === QUOTE || c === BACKSLASH) plain = false;
      end++;
    }
    if (!ascii) {
      this.utf8(JSON.stringify(decode(src.subarray(at, end))));
      return;
    }
    const b = this.buf;
    let o = this.pos;
    b[o++] = QUOTE;
    if (plain) {
      for (let k = at; k < end; k++) b[o++] = src[k]!;
    } else {
      for (let k = at; k < end; k++) {
        const c = src[k]!;
        const e = ESCAPES[c];
        if (e === undefined) b[o++] = c;
        else for (let j = 0; j < e.length; j++) b[o++] = e[j]!;
      }
    }
    b[o++] = QUOTE;
    this.pos = o;
  }
}
