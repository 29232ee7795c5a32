// Compiles bpf/test/namehash.c (bpf/name_hash.h, the very function the kernel and the helper use)
// and checks it against the shared vectors the TypeScript side is tested with, so C and TS agree.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nameHash } from './name-hash.ts';

const source = resolve(import.meta.dirname, '../../../bpf/test/namehash.c');
const vectors = (JSON.parse(readFileSync(new URL('./name-hash.vectors.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; hash: string }[];
}).vectors;
const dir = mkdtempSync(join(tmpdir(), 'sluice-namehash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('name hash (C vs shared vectors vs TypeScript)', () => {
  it('gives the vector hash for every name, in C and in TS', () => {
    const bin = join(dir, 'namehash');
    // A missing compiler is a failure, not a skip: this test is the drift guard.
    execFileSync(process.env.CC ?? 'cc', ['-std=gnu11', '-Wall', '-o', bin, source], { stdio: 'pipe' });
    const extra = ['b.c', 'deep.er.name.example.org'];
    const c = JSON.parse(execFileSync(bin, [...vectors.map((v) => v.name), ...extra], { encoding: 'utf8' })) as Record<string, string>;
    for (const v of vectors) expect([v.name, c[v.name]]).toEqual([v.name, v.hash]);
    for (const n of extra) expect([n, c[n]]).toEqual([n, nameHash(n).toString()]);
  });
});
