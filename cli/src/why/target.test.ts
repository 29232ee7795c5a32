import { describe, expect, it } from 'vitest';
import { UsageError } from '../command.ts';
import { cgroupOfPid, ofWorkload, parseTarget, resolveTarget, unifiedPath } from './target.ts';

describe('parseTarget', () => {
  it('takes explicit prefixes, and bare numbers and words for later resolution', () => {
    expect(parseTarget('container:web-1')).toEqual({ kind: 'container', ref: 'web-1' });
    expect(parseTarget('agent:claude')).toEqual({ kind: 'agent', name: 'claude' });
    expect(parseTarget('cgroup:12345')).toEqual({ kind: 'cgroup', id: '12345' });
    expect(parseTarget('pid:77')).toEqual({ kind: 'pid', pid: 77 });
    expect(parseTarget('12345')).toEqual({ kind: 'number', value: '12345' });
    expect(parseTarget('claude')).toEqual({ kind: 'word', word: 'claude' });
  });
  it('refuses what cannot be one, naming it', () => {
    expect(() => parseTarget('cgroup:abc')).toThrow(/cgroup id is a decimal number/);
    expect(() => parseTarget('pid:-1')).toThrow(UsageError);
    expect(() => parseTarget('agent:')).toThrow(/nothing after "agent:"/);
    expect(() => parseTarget('  ')).toThrow(/name a container/);
  });
});

describe('resolving', () => {
  it('a pid goes through /proc/<pid>/cgroup to the inode of its cgroup directory', async () => {
    const own = cgroupOfPid(process.pid);
    expect(own.id).toMatch(/^\d+$/);
    const w = await resolveTarget({ kind: 'number', value: String(process.pid) }, { dockerSocket: '/nonexistent', agentLabel: 'a', projectLabel: 'p' });
    expect(w.cgroup_id).toBe(own.id);
    expect(unifiedPath('12:pids:/x\n0::/sluice/agents/abc\n')).toBe('/sluice/agents/abc');
  });
  it('a bare number with no such process is a cgroup id; a bare word Docker does not answer for is an agent', async () => {
    const o = { dockerSocket: '/nonexistent.sock', agentLabel: 'a', projectLabel: 'p' };
    expect(await resolveTarget({ kind: 'number', value: '4294967296000' }, o)).toMatchObject({ cgroup_id: '4294967296000' });
    expect(await resolveTarget({ kind: 'word', word: 'claude' }, { ...o, project: 'demo' })).toMatchObject({ agent: 'claude', project: 'demo' });
    await expect(resolveTarget({ kind: 'container', ref: 'x' }, o)).rejects.toThrow(/nonexistent\.sock/);
  });
});

describe('ofWorkload', () => {
  const e = { cgroup_id: '9', container_id: 'c1', project: 'p', agent: 'a' };
  it('a container matches by id, or by cgroup for events recorded before its id was known', () => {
    expect(ofWorkload({ described: '', container_id: 'c1' }, e)).toBe(true);
    expect(ofWorkload({ described: '', container_id: 'c2', cgroup_id: '9' }, e)).toBe(false);
    expect(ofWorkload({ described: '', container_id: 'c2', cgroup_id: '9' }, { ...e, container_id: undefined })).toBe(true);
  });
  it('otherwise every field named must match', () => {
    expect(ofWorkload({ described: '', agent: 'a' }, e)).toBe(true);
    expect(ofWorkload({ described: '', agent: 'a', project: 'q' }, e)).toBe(false);
    expect(ofWorkload({ described: '', cgroup_id: '8' }, e)).toBe(false);
  });
});
