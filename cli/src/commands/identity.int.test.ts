// `sluice identity` against a real attributor (child process) on real NATS/Redis: register a
// plain cgroup, look it up, unregister it; refusals exit non-zero with the attributor's reason.
import { execFile } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributorHarness, REPO_ROOT, type ServiceProcess, stopService, waitFor } from '@sluice/testkit';
import { IDENTITY_API } from '@sluice/contracts';
import { request, RpcError } from '@sluice/runtime';

const h = new AttributorHarness();
let attributor: ServiceProcess;
const path = `/sluice-cli-it-${h.run}`;

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli/src/main.ts'), ...args, '--nats', h.natsUrl], { cwd: join(REPO_ROOT, 'cli') }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  await h.setup();
  await mkdir(join(h.mount, path));
  attributor = h.startAttributor();
  await waitFor('attributor ready', async () => ((await fetch(`http://127.0.0.1:${h.metricsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined));
});

afterAll(async () => {
  await stopService(attributor, 8000);
  await rmdir(join(h.mount, path));
  await h.teardown();
});

describe('sluice identity', () => {
  it('registers, looks up and unregisters a non-Docker cgroup', async () => {
    const reg = await sluice('identity', 'register', '--cgroup-path', path, '--agent', 'cli.agent ✓', '--project', 'p q', '--node', h.node);
    expect(reg.code, reg.stderr).toBe(0);
    const id = JSON.parse(reg.stdout) as { cgroup_id: string; attribution: string; agent: string };
    expect(id).toMatchObject({ attribution: 'registered', agent: 'cli.agent ✓' });
    const look = await sluice('identity', 'lookup', '--cgroup-id', id.cgroup_id, '--node', h.node);
    expect(JSON.parse(look.stdout)).toMatchObject({ agent: 'cli.agent ✓', project: 'p q' });
    const un = await sluice('identity', 'unregister', '--cgroup-id', id.cgroup_id, '--node', h.node);
    expect(un.code, un.stderr).toBe(0);
  });

  it("`sluice run`'s register call gets the attributor's refusal reason, not an empty error", async () => {
    const err = await request(h.nc, IDENTITY_API, 'register', { node: h.node, cgroup_path: '/does/not/exist' }, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^cgroup_path "\/does\/not\/exist": /) });
  });

  it('exits non-zero with the reason when the attributor refuses', async () => {
    const r = await sluice('identity', 'register', '--cgroup-path', '/does/not/exist', '--node', h.node);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cgroup_path "\/does\/not\/exist"/);
  });
});
