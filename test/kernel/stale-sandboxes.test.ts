import { describe, expect, it } from 'vitest';
import { staleTags } from './stale-sandboxes.ts';

describe('stale sandboxes', () => {
  it('are the sandbox tags of dead pids only', () => {
    const names = ['sluice', 'sluice-test-261c2146', 'sluice-test-bench-e2e-8404', 'sluice-test-policy-12', 'sluice-test-x-y-77', 'maps.debug'];
    expect(staleTags(names, (pid) => pid === 12)).toEqual(['sluice-test-bench-e2e-8404', 'sluice-test-x-y-77']);
  });
});
