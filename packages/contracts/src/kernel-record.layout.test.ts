// Compiles bpf/test/layout.c (sizeof/offsetof/enum values as the C compiler sees record.h) and
// compares it with the TypeScript constants, so a change on one side fails here until the
// other follows.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KERNEL_COUNTERS_EXT,
  KERNEL_DNS_REJECTED,
  KERNEL_FLAG,
  KERNEL_KIND,
  KERNEL_MODE,
  KERNEL_PACKED_STREAM,
  KERNEL_REASON,
  KERNEL_RECORD_FIELDS,
  KERNEL_RECORD_SIZE,
  KERNEL_RECORD_VERSION,
  KERNEL_VERDICT,
} from './kernel-record.ts';

interface CLayout {
  size: number;
  version: number;
  fields: Record<string, [number, number]>;
  counters_ext: [number, number];
  packed: [number, number];
  enums: Record<string, Record<string, number>>;
}

const source = resolve(import.meta.dirname, '../../../bpf/test/layout.c');
let dir: string;
let c: CLayout;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-layout-'));
  const bin = join(dir, 'layout');
  // A missing compiler is a failure, not a skip: this test is the drift guard.
  execFileSync(process.env.CC ?? 'cc', ['-std=gnu11', '-Wall', '-o', bin, source], { stdio: 'pipe' });
  c = JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as CLayout;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kernel record layout (C vs TypeScript)', () => {
  it('has the same size and version', () => {
    expect(c.size).toBe(KERNEL_RECORD_SIZE);
    expect(c.version).toBe(KERNEL_RECORD_VERSION);
  });

  it('has the same [offset, size] for every field, and no field only one side knows', () => {
    expect(Object.keys(KERNEL_RECORD_FIELDS).sort()).toEqual(Object.keys(c.fields).sort());
    for (const [name, spec] of Object.entries(c.fields)) {
      expect([name, ...KERNEL_RECORD_FIELDS[name as keyof typeof KERNEL_RECORD_FIELDS]]).toEqual([name, ...spec]);
    }
  });

  it('has the same enum values', () => {
    expect(KERNEL_KIND).toEqual(c.enums.kind);
    expect(KERNEL_VERDICT).toEqual(c.enums.verdict);
    expect(KERNEL_REASON).toEqual(c.enums.reason);
    expect(KERNEL_FLAG).toEqual(c.enums.flags);
    expect(KERNEL_MODE).toEqual(c.enums.mode);
    expect(KERNEL_DNS_REJECTED).toEqual(c.enums.dns_rejected);
  });

  it('puts the extra counter slots of a COUNTERS record where the helper writes them', () => {
    expect([...KERNEL_COUNTERS_EXT]).toEqual(c.counters_ext);
  });

  it('has the packed stream keep the whole header the reader checks', () => {
    expect([KERNEL_PACKED_STREAM.header, KERNEL_PACKED_STREAM.minKeep]).toEqual(c.packed);
    expect(KERNEL_PACKED_STREAM.minKeep).toBe(KERNEL_RECORD_FIELDS.comm[0]);
  });

  it('keeps fields inside the record and non-overlapping outside the body union', () => {
    const top = Object.entries(c.fields).filter(([n]) => !n.startsWith('body.'));
    top.sort((a, b) => a[1][0] - b[1][0]);
    for (let i = 1; i < top.length; i++) {
      const [, [prevOff, prevSize]] = top[i - 1]!;
      expect(top[i]![1][0]).toBeGreaterThanOrEqual(prevOff + prevSize);
    }
    for (const [, [off, size]] of Object.entries(c.fields)) expect(off + size).toBeLessThanOrEqual(c.size);
  });
});
