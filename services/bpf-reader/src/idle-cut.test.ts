import { describe, expect, it } from 'vitest';
import { IdleCut } from './idle-cut.ts';

describe('IdleCut', () => {
  it('cuts at once the first records after a quiet window', () => {
    let t = 1_000;
    const c = new IdleCut(50, () => t);
    expect(c.cutNow(1, 0)).toBe(true); // nothing cut yet: idle
    c.cut();
    t += 51;
    expect(c.cutNow(3, 0)).toBe(true);
  });
  it('leaves batching to the timer while batches are cut within every window (load)', () => {
    let t = 1_000;
    const c = new IdleCut(50, () => t);
    c.cut();
    t += 10;
    expect(c.cutNow(200, 0)).toBe(false);
  });
  it('does not cut while earlier records are still on their way to JetStream', () => {
    const c = new IdleCut(50, () => 1_000);
    expect(c.cutNow(5, 1024)).toBe(false);
  });
  it('has nothing to cut when the chunk brought no records for the batch', () => {
    const c = new IdleCut(50, () => 1_000);
    expect(c.cutNow(0, 0)).toBe(false);
  });
});
