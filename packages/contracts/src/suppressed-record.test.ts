import { describe, expect, it } from 'vitest';
import { decodeSuppressed, encodeSuppressed, KIND_SUPPRESSED } from './suppressed-record.ts';

describe('suppressed record', () => {
  it('keeps the template header, sets kind and time, carries the summary', () => {
    const template = new Uint8Array(256).fill(0xab);
    template[0] = 1;
    const out = new Uint8Array(512);
    const s = { count: 12345, firstTsNs: 10n, lastTsNs: 99n, byVerdict: [0, 1, 12344, 0] as [number, number, number, number] };
    encodeSuppressed(out, 256, template, s);
    const rec = out.subarray(256);
    expect(rec[0]).toBe(1);
    expect(rec[1]).toBe(KIND_SUPPRESSED);
    expect(rec[40]).toBe(0xab); // pid of the representative attempt kept
    expect(new DataView(rec.buffer, rec.byteOffset).getBigUint64(16, true)).toBe(99n);
    expect(decodeSuppressed(rec)).toEqual(s);
    expect(out.subarray(0, 256).every((b) => b === 0)).toBe(true);
  });

  it('refuses a record of another kind', () => {
    expect(() => decodeSuppressed(new Uint8Array(256))).toThrow(/kind is 0, not 128/);
  });
});
