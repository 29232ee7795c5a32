import { describe, expect, it } from 'vitest';
import { Phases } from './phases.ts';

describe('Phases', () => {
  it('lists every marked step in order with a total that covers them', async () => {
    const p = new Phases();
    p.mark('a');
    await new Promise((r) => setTimeout(r, 20));
    p.mark('b');
    const line = p.format();
    expect(line).toMatch(/^start-up ms: a \d+, b (\d+); total (\d+)$/);
    const [, b, total] = /b (\d+); total (\d+)/.exec(line)!.map(Number);
    expect(b).toBeGreaterThanOrEqual(15);
    expect(total).toBeGreaterThanOrEqual(b!);
  });
});
