// The request directory is shared by every instance on the machine: a request is claimed (handled
// and removed) only by the attributor whose scopes hold its cgroup; others leave it where it is.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/runtime';
import type { RuntimeRequest } from './runtime-request.ts';
import { RuntimeRequests } from './runtime-requests.ts';

const cid = (c: string) => c.repeat(64);

describe('RuntimeRequests', () => {
  it('handles and removes requests for its scopes, leaves the others, removes bad ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runtime-requests-'));
    const handled: RuntimeRequest[] = [];
    const outcomes: string[] = [];
    const rr = new RuntimeRequests({
      dir,
      ours: (r) => r.cgroupPath.startsWith('/mine/'),
      handle: async (r) => void handled.push(r),
      log: createLogger('test', 'silent'),
      counted: (o) => void outcomes.push(o),
    });
    writeFileSync(join(dir, `${cid('a')}.req`), `CGROUP_PATH=/mine/agents/${cid('a')}\nCGROUP_ID=11\n`);
    writeFileSync(join(dir, `${cid('b')}.req`), `CGROUP_PATH=/theirs/agents/${cid('b')}\nCGROUP_ID=12\n`);
    writeFileSync(join(dir, 'garbage.req'), 'x');
    await rr.start(); // the start scan sees all three
    rr.stop();
    expect(handled.map((h) => h.cgroupId)).toEqual(['11']);
    expect(outcomes.sort()).toEqual(['announced', 'bad']);
    expect(existsSync(join(dir, `${cid('a')}.req`))).toBe(false);
    expect(existsSync(join(dir, 'garbage.req'))).toBe(false);
    expect(existsSync(join(dir, `${cid('b')}.req`))).toBe(true);
  });
});
