import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalName, hostPatternKey, nameHash, suffixHashes } from './name-hash.ts';

const vectors = JSON.parse(readFileSync(new URL('./name-hash.vectors.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; hash: string }[];
  canonical: { input: string; name: string }[];
};

describe('nameHash (label-wise, shared with bpf/name_hash.h)', () => {
  it('matches every shared vector', () => {
    expect(vectors.vectors.length).toBeGreaterThan(5);
    for (const v of vectors.vectors) expect([v.name, nameHash(v.name).toString()]).toEqual([v.name, v.hash]);
  });

  it('is FNV-1a 64 of the reversed bytes (a one-byte name is plain FNV-1a)', () => {
    expect(nameHash('a')).toBe(0xaf63dc4c8601ec8cn);
  });

  it('hashes the canonical form: case and a trailing dot do not matter', () => {
    for (const c of vectors.canonical) {
      expect(canonicalName(c.input)).toBe(c.name);
      expect(nameHash(c.input)).toBe(nameHash(c.name));
    }
  });

  it('gives every label-aligned suffix, shortest first, and never the name itself', () => {
    expect(suffixHashes('a.b.example.test')).toEqual([nameHash('test'), nameHash('example.test'), nameHash('b.example.test')]);
    expect(suffixHashes('single')).toEqual([]);
  });

  it('keys host patterns by the hash of their base', () => {
    expect(hostPatternKey('api.example.test')).toEqual({ match: 'exact', hash: nameHash('api.example.test') });
    expect(hostPatternKey('*.example.test')).toEqual({ match: 'one', hash: nameHash('example.test') });
    expect(hostPatternKey('**.Example.Test')).toEqual({ match: 'any', hash: nameHash('example.test') });
  });
});
