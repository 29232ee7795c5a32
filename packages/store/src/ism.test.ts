import { describe, expect, it } from 'vitest';
import { expiredIndices, generationOf, ismPolicy } from './ism.ts';

const day = 86_400_000;

describe('retention plan', () => {
  const idx = (g: number, createdDay: number) => ({ name: `.ds-clawker-egress-${String(g).padStart(6, '0')}`, generation: g, createdMs: createdDay * day });
  it('expires an index by when its successor took over, never the write index', () => {
    const list = [idx(3, 20), idx(1, 0), idx(2, 10)];
    // Index 1 stopped at day 10, index 2 at day 20; at day 41 with 30 days retention only 1 is out.
    expect(expiredIndices(list, 41 * day, 30 * day)).toEqual(['.ds-clawker-egress-000001']);
    expect(expiredIndices(list, 51 * day, 30 * day)).toEqual(['.ds-clawker-egress-000001', '.ds-clawker-egress-000002']);
    expect(expiredIndices([idx(1, 0)], 1000 * day, day)).toEqual([]);
  });
  it('reads generations from backing index names', () => {
    expect(generationOf('.ds-clawker-egress-000012')).toBe(12);
    expect(() => generationOf('clawker-egress')).toThrow(/generation suffix/);
  });
});

describe('ISM policy', () => {
  it('rolls over on the configured age/size and deletes after retention, for every source', () => {
    const p = ismPolicy('clawker-', ['egress', 'dns', 'overseer'], { rolloverMaxAge: '1d', rolloverMaxSize: '30gb', retention: '30d' }) as {
      policy: { states: Array<{ name: string; actions: unknown[]; transitions: unknown[] }>; ism_template: Array<{ index_patterns: string[] }> };
    };
    expect(p.policy.states[0]!.actions).toEqual([{ rollover: { min_index_age: '1d', min_size: '30gb' } }]);
    expect(p.policy.states[0]!.transitions).toEqual([{ state_name: 'delete', conditions: { min_rollover_age: '30d' } }]);
    expect(p.policy.ism_template[0]!.index_patterns).toEqual(['clawker-egress*', 'clawker-dns*', 'clawker-overseer*']);
  });
});
