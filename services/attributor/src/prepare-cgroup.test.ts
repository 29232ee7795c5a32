import { describe, expect, it } from 'vitest';
import { inScope, plannedCgroupPath } from './prepare-cgroup.ts';

describe('plannedCgroupPath', () => {
  it('is <parent>/<id> for the cgroupfs driver, /docker/<id> without a parent', () => {
    expect(plannedCgroupPath('abc', '/sluice/agents')).toBe('/sluice/agents/abc');
    expect(plannedCgroupPath('abc', 'sluice/agents/')).toBe('/sluice/agents/abc');
    expect(plannedCgroupPath('abc', '')).toBe('/docker/abc');
    expect(plannedCgroupPath('abc', undefined)).toBe('/docker/abc');
  });

  it('plans nothing for systemd parents or paths that climb', () => {
    expect(plannedCgroupPath('abc', 'system.slice')).toBeUndefined();
    expect(plannedCgroupPath('abc', 'machine.slice:docker:abc')).toBeUndefined();
    expect(plannedCgroupPath('abc', '/sluice/../etc')).toBeUndefined();
  });
});

describe('inScope', () => {
  it('matches the scope itself and below, never a sibling sharing a prefix', () => {
    expect(inScope('/sluice/agents/abc', ['/sluice'])).toBe(true);
    expect(inScope('/sluice', ['/sluice/'])).toBe(true);
    expect(inScope('/sluice-other/abc', ['/sluice'])).toBe(false);
    expect(inScope('/docker/abc', ['/sluice', '/agents'])).toBe(false);
  });
});
