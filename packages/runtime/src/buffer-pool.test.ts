import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('hands a given-back buffer out again, whole, once; keeps only its own and only so many', () => {
    const pool = new BufferPool(2);
    const a = pool.take(100_000);
    expect(a.length).toBeGreaterThanOrEqual(100_000);
    pool.give(a.subarray(10, 20));
    pool.give(a);
    const b = pool.take(50_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(a.length);
    expect(pool.take(50_000).buffer, 'given back once, handed out once').not.toBe(a.buffer);
    pool.give(Buffer.allocUnsafe(100)); // node's shared slab: not the pool's
    pool.give(Buffer.allocUnsafe(200_000));
    expect(pool.take(1).buffer).not.toBe(Buffer.allocUnsafe(100).buffer);
    const [x, y, z] = [pool.take(70_000), pool.take(70_000), pool.take(70_000)];
    for (const v of [x, y, z]) pool.give(v);
    expect(new Set([pool.take(1).buffer, pool.take(1).buffer, pool.take(1).buffer]).size).toBe(3);
  });
});
