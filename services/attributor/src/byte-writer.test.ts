import { describe, expect, it } from 'vitest';
import { ByteWriter } from './byte-writer.ts';

const text = (w: ByteWriter) => w.buf.toString('utf8', 0, w.pos);

describe('ByteWriter', () => {
  it('spells integers as String and BigInt do, u64 past 2^53 included', () => {
    const w = new ByteWriter(16);
    const values = [0, 9, 10, 99, 100, 4294967295, 4294967296, 2 ** 53 - 1];
    // Every length, at both ends (the length is found by comparison, the digits two at a time).
    for (let k = 1; k <= 15; k++) values.push(10 ** k - 1, 10 ** k, 10 ** k + 1, 7 * 10 ** k + 3);
    for (const n of values) {
      w.pos = 0;
      w.ensure(32);
      w.uint(n);
      expect(text(w)).toBe(String(n));
    }
    let x = 0x9e3779b97f4a7c15n;
    const u64s = [0n, 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 10n ** 16n, 10n ** 19n, 2n ** 64n - 1n, 18446744073709550000n];
    for (let k = 0; k < 2000; k++) u64s.push((x = (x * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n)) >> BigInt(k % 64));
    for (const n of u64s) {
      w.pos = 0;
      w.ensure(32);
      w.u64(Number(n & 0xffffffffn), Number(n >> 32n));
      expect(text(w)).toBe(n.toString());
    }
    for (let k = 0; k < 1000; k++) {
      w.pos = 0;
      w.ensure(32);
      w.digits3(k);
      expect(text(w)).toBe(String(k).padStart(3, '0'));
    }
  });

  it('writes a NUL-terminated string as JSON.stringify writes its text, for every byte', () => {
    const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    const w = new ByteWriter(1024);
    for (let c = 1; c < 256; c++) {
      const src = Uint8Array.of(0x61, c, 0x62, 0, 0x63);
      w.pos = 0;
      w.jsonCString(src, 0, src.length, latin1);
      expect(text(w), `byte ${c}`).toBe(JSON.stringify(latin1(src.subarray(0, 3))));
    }
    // No NUL within max: the text stops at max.
    w.pos = 0;
    w.jsonCString(Uint8Array.of(0x61, 0x62, 0x63), 0, 2, latin1);
    expect(text(w)).toBe('"ab"');
  });

  it('grows, keeping what it holds', () => {
    const w = new ByteWriter(1);
    for (let k = 0; k < 5000; k++) {
      w.ensure(8);
      w.ascii('abc,');
    }
    expect(text(w)).toBe('abc,'.repeat(5000));
  });
});
