import { describe, expect, it } from 'vitest';
import { placementDrift } from './jetstream.ts';

describe('placementDrift', () => {
  it('finds nothing on a single server or an R1 stream', () => {
    expect(placementDrift('stream S', 1, { leader: 'n1' })).toEqual([]);
    expect(placementDrift('stream S', 3, undefined)).toEqual([]);
  });
  it('accepts a leader with its two current peers for R3', () => {
    const peers = [{ name: 'n2', current: true }, { name: 'n3', current: true }];
    expect(placementDrift('stream S', 3, { leader: 'n1', replicas: peers })).toEqual([]);
  });
  it('reports a missing leader, missing peers and offline peers', () => {
    const d = placementDrift('stream S', 3, { replicas: [{ name: 'n2', current: false, offline: true }] });
    expect(d.map((x) => x.field)).toEqual(['placement.leader', 'placement.peers', 'placement.offline']);
    expect(d[2]).toMatchObject({ object: 'stream S', actual: ['n2'] });
  });
});
