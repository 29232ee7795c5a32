import { describe, expect, it } from 'vitest';
import { parseRuntimeRequest } from './runtime-request.ts';

const cid = 'a'.repeat(64);

describe('parseRuntimeRequest', () => {
  it('reads the container id from the name and the cgroup from the lines', () => {
    expect(parseRuntimeRequest(`${cid}.req`, `CGROUP_PATH=/sluice/agents/${cid}\nCGROUP_ID=82010\n`)).toEqual({
      containerId: cid,
      cgroupPath: `/sluice/agents/${cid}`,
      cgroupId: '82010',
    });
  });

  it('refuses what it cannot trust, naming the file and the field', () => {
    expect(() => parseRuntimeRequest('x.req', 'CGROUP_PATH=/a\nCGROUP_ID=1')).toThrow(/x\.req: not <64-hex/);
    expect(() => parseRuntimeRequest(`${cid}.req`, 'CGROUP_PATH=/a/../b\nCGROUP_ID=1')).toThrow(/CGROUP_PATH/);
    expect(() => parseRuntimeRequest(`${cid}.req`, 'CGROUP_PATH=relative\nCGROUP_ID=1')).toThrow(/CGROUP_PATH/);
    expect(() => parseRuntimeRequest(`${cid}.req`, 'CGROUP_PATH=/a\nCGROUP_ID=-3')).toThrow(/CGROUP_ID/);
    expect(() => parseRuntimeRequest(`${cid}.req`, 'CGROUP_PATH=/a\n')).toThrow(/CGROUP_ID/);
  });
});
