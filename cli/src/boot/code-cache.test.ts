import { describe, expect, it } from 'vitest';
import { cacheKey, readCache, writeCache } from './code-cache.ts';

describe('code cache file', () => {
  const key = cacheKey({ size: 2_979_155, mtimeMs: 1764627000123.7 }, 'v20.20.2', 'x64');

  it('names the exact build and Node', () => {
    expect(key).toBe('2979155-1764627000123-v20.20.2-x64');
    expect(cacheKey({ size: 2_979_155, mtimeMs: 1764627000999 }, 'v20.20.2', 'x64')).not.toBe(key);
    expect(cacheKey({ size: 2_979_155, mtimeMs: 1764627000123.7 }, 'v22.1.0', 'x64')).not.toBe(key);
  });

  it('reads back what it wrote, and nothing for another key, a torn or missing file', () => {
    const data = Buffer.from([1, 2, 3, 10, 4]);
    expect(readCache(writeCache(key, data), key)).toEqual(data);
    expect(readCache(writeCache(key, data), `${key}x`)).toBeUndefined();
    expect(readCache(Buffer.from(key), key)).toBeUndefined();
    expect(readCache(Buffer.from(`${key}\n`), key)).toBeUndefined();
    expect(readCache(undefined, key)).toBeUndefined();
  });
});
