import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSeqState, saveSeqState, SequenceAllocator, startSeq } from './sequence.ts';

const dir = mkdtempSync(join(tmpdir(), 'seq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sequence', () => {
  it('persists a reservation before handing out numbers past it', () => {
    const saved: number[] = [];
    const seq = new SequenceAllocator(100, 1000, (r) => saved.push(r));
    expect(seq.take(10)).toBe(100);
    expect(saved).toEqual([1110]);
    expect(seq.take(1000)).toBe(110); // uses up to 1109: still inside the reservation
    expect(saved).toEqual([1110]);
    expect(seq.take(1)).toBe(1110);
    expect(saved).toEqual([1110, 2111]);
  });

  it('a restarted reader starts past everything the previous one could have used', () => {
    const path = join(dir, 'state.json');
    const boot = 'b1';
    const a = new SequenceAllocator(startSeq(loadSeqState(path), boot, 50), 100, (r) => saveSeqState(path, { bootId: boot, reserved: r }));
    const used = [a.take(5), a.take(120), a.take(1)];
    const b = new SequenceAllocator(startSeq(loadSeqState(path), boot, 60), 100, () => {});
    expect(b.take(1)).toBeGreaterThan(Math.max(...used) + 1);
    // Another boot starts at the clock floor again.
    expect(startSeq(loadSeqState(path), 'b2', 60)).toBe(60);
  });

  it('keeps going when the state cannot be written, and says so', () => {
    const errors: unknown[] = [];
    const seq = new SequenceAllocator(0, 10, () => { throw new Error('EROFS'); }, (e) => errors.push(e));
    expect(seq.take(1)).toBe(0);
    expect(seq.take(1)).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('names a corrupt state file', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"bootId": 3}');
    expect(() => loadSeqState(path)).toThrow(/bad.json: not a sequence state file/);
    expect(loadSeqState(join(dir, 'missing.json'))).toBeUndefined();
  });
});
