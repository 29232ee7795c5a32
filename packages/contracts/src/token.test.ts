import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeToken, encodeToken, isBoundedToken, isValidToken, MAX_TOKEN_LENGTH, TokenError } from './token.ts';

// At most 12 encoded characters per code point (4 UTF-8 bytes as %XX): 10 code points always fit.
const SHORT = { unit: 'binary', maxLength: Math.floor(MAX_TOKEN_LENGTH / 12) } as const;

describe('subject token encoding', () => {
  it('round-trips any short unicode string exactly, as one valid token', () => {
    fc.assert(
      fc.property(fc.string(SHORT), (value) => {
        const token = encodeToken(value);
        expect(isValidToken(token)).toBe(true);
        expect(isBoundedToken(token)).toBe(false);
        expect(token.split('.')).toHaveLength(1);
        expect(decodeToken(token)).toBe(value);
      }),
      { numRuns: 2000 },
    );
  }, 30_000); // 2000 runs: seconds on a loaded 2-core machine

  it('gives any string, however long, one valid bounded token; exact when it fits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (value) => {
        const token = encodeToken(value);
        expect(isValidToken(token)).toBe(true);
        expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
        if (isBoundedToken(token)) expect(() => decodeToken(token)).toThrow(/bounded token/);
        else expect(decodeToken(token)).toBe(value);
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('round-trips the characters NATS reserves, control characters, and the empty string', () => {
    for (const value of ['', '.', '*', '>', ' ', 'a.b', 'my project', 'ünïcødé 🚀', '%', '%41', 'tab\there', '~', '\u0000\u0001\u001f\u007f', 'a\r\nb', '\ufeffbom']) {
      const token = encodeToken(value);
      expect(isValidToken(token), `${value} -> ${token}`).toBe(true);
      expect(decodeToken(token)).toBe(value);
    }
  });

  it('keeps plain names readable', () => {
    expect(encodeToken('agent-1_prod')).toBe('agent-1_prod');
    expect(encodeToken('my.app')).toBe('my%2Eapp');
  });

  it('is injective: distinct values give distinct tokens', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(encodeToken(a)).not.toBe(encodeToken(b));
      }),
    );
  });

  it('is injective for long values that share everything but their tail', () => {
    const base = 'x'.repeat(4096);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (a, b) => {
        fc.pre(a !== b);
        const [ta, tb] = [encodeToken(base + a), encodeToken(base + b)];
        expect(isBoundedToken(ta) && isBoundedToken(tb)).toBe(true);
        expect(ta).not.toBe(tb);
      }),
    );
  });

  it('bounds a 4 KB and a 64 KB label: readable prefix, hash suffix, deterministic', () => {
    for (const value of ['p'.repeat(4096), 'é.'.repeat(32 * 1024)]) {
      const token = encodeToken(value);
      expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
      expect(isValidToken(token)).toBe(true);
      expect(isBoundedToken(token)).toBe(true);
      expect(encodeToken(value)).toBe(token);
      expect(token).toMatch(/^[^~]+~[0-9a-f]{32}$/);
    }
    expect(encodeToken('p'.repeat(4096)).startsWith('p'.repeat(95))).toBe(true);
    // The prefix never splits a character's escapes.
    expect(encodeToken('é.'.repeat(32 * 1024))).toMatch(/^(%C3%A9%2E)+(%C3%A9)?~/);
  });

  it('the longest exact token is exact; one character more is bounded', () => {
    const exact = 'a'.repeat(MAX_TOKEN_LENGTH);
    expect(decodeToken(encodeToken(exact))).toBe(exact);
    expect(isBoundedToken(encodeToken(exact + 'a'))).toBe(true);
  });

  it('gives strings with lone surrogates (no exact UTF-8 form) distinct bounded tokens, never U+FFFD', () => {
    const lone = ['\ud800', '\udc00', 'a\ud800b', '\udfff'];
    const tokens = lone.map(encodeToken);
    for (const t of tokens) expect(isBoundedToken(t) && isValidToken(t)).toBe(true);
    expect(new Set([...tokens, encodeToken('\ufffd')]).size).toBe(lone.length + 1);
  });

  it('rejects tokens it would never emit, naming the problem', () => {
    expect(() => decodeToken('a.b')).toThrow(TokenError);
    expect(() => decodeToken('%4')).toThrow(/bad escape at offset 0/);
    expect(() => decodeToken('%41')).toThrow(/canonical/);
    expect(() => decodeToken('%FF')).toThrow(/UTF-8/);
    expect(() => decodeToken('')).toThrow(/empty/);
    expect(() => decodeToken('a'.repeat(MAX_TOKEN_LENGTH + 1))).toThrow(/longer than 128/);
  });
});
