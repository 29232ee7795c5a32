// nanosToMs does 64-bit nanoseconds → ms in doubles, without BigInt: it must agree with exact
// BigInt arithmetic for every value, at the rounding edges above all.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Int64 } from './proto.ts';
import { nanosToMs } from './values.ts';

/** A protobufjs Long-shaped value of `v` (two's complement halves). */
function long(v: bigint, unsigned: boolean): Int64 {
  const u = BigInt.asUintN(64, v);
  return {
    low: Number(BigInt.asIntN(32, u & 0xffffffffn)),
    high: Number(BigInt.asIntN(32, u >> 32n)),
    unsigned,
    toString: () => (unsigned ? u : BigInt.asIntN(64, u)).toString(),
    toNumber: () => Number(unsigned ? u : BigInt.asIntN(64, u)),
  };
}

const exact = (v: bigint): number | undefined => {
  const ms = Number(v / 1_000_000n);
  return v > 0n && ms > 0 ? ms : undefined;
};

describe('nanosToMs', () => {
  it('agrees with exact BigInt division for every 64-bit value, signed or unsigned', () => {
    const edges = fc.constantFrom(0n, 1n, 999_999n, 1_000_000n, 1_000_001n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 64n - 1n);
    // Values one either side of a whole millisecond, where a rounded division would go wrong.
    const nearMs = fc.bigInt({ min: 1n, max: 2n ** 64n / 1_000_000n - 1n }).chain((k) => fc.constantFrom(k * 1_000_000n - 1n, k * 1_000_000n, k * 1_000_000n + 1n));
    fc.assert(
      fc.property(fc.oneof(edges, nearMs, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), (u) => {
        expect(nanosToMs(long(u, true))).toBe(exact(u));
        const signed = BigInt.asIntN(64, u);
        expect(nanosToMs(long(signed, false))).toBe(exact(signed));
      }),
      { numRuns: 20_000 },
    );
  });

  it('takes numbers and absent values as before', () => {
    expect(nanosToMs(1_700_000_000_123_456)).toBe(1_700_000_000);
    expect(nanosToMs(0)).toBeUndefined();
    expect(nanosToMs(null)).toBeUndefined();
    expect(nanosToMs(undefined)).toBeUndefined();
  });
});
