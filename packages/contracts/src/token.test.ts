import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeToken, encodeToken, isValidToken, TokenError } from './token.ts';

describe('subject token encoding', () => {
  it('round-trips any unicode string into exactly one valid token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const token = encodeToken(value);
        expect(isValidToken(token)).toBe(true);
        expect(token.split('.')).toHaveLength(1);
        expect(decodeToken(token)).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips the characters NATS reserves, and the empty string', () => {
    for (const value of ['', '.', '*', '>', ' ', 'a.b', 'my project', 'ünïcødé 🚀', '%', '%41', 'tab\there']) {
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

  it('rejects tokens it would never emit, naming the problem', () => {
    expect(() => decodeToken('a.b')).toThrow(TokenError);
    expect(() => decodeToken('%4')).toThrow(/bad escape at offset 0/);
    expect(() => decodeToken('%41')).toThrow(/canonical/);
    expect(() => decodeToken('%FF')).toThrow(/UTF-8/);
    expect(() => decodeToken('')).toThrow(/empty/);
  });
});
