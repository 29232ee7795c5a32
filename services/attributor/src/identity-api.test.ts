import { describe, expect, it } from 'vitest';
import { forThisNode } from './identity-api.ts';

const req = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('identity API node routing', () => {
  it('answers requests for its node or naming none, stays silent for another node', () => {
    expect(forThisNode(req({ node: 'n1', cgroup_id: '5' }), 'n1')).toBe(true);
    expect(forThisNode(req({ cgroup_id: '5' }), 'n1')).toBe(true);
    expect(forThisNode(req({ node: 'n2', cgroup_id: '5' }), 'n1')).toBe(false);
    expect(forThisNode(new TextEncoder().encode('not json'), 'n1')).toBe(true);
  });
});
