// Issue 15, the start race: a labelled agent container whose first instruction connects to an
// allowed destination gets its own policy, not the deny-all default. The whole local pipeline of
// the test's private instance (sluice up --docker: policy service, attributor, …), the real kernel,
// Docker with the sluice runtime (infra/runtime/sluice-runc). Every container's very first
// instruction is the connect; a denied destination from the same set-up proves the containers are
// enforced at all, so the allowed connects cannot pass vacuously.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, hasRuntime, sluiceCliAsync, startRace, testServer } from '@sluice/testkit';
import { listeners } from '../kernel/net.ts';

const docker = dockerClient(testServer('DOCKER_HOST'));
const net = listeners();
const scope = (process.env.SLUICE_MANAGED_CGROUPS ?? '').split(',')[0]!;
const project = `race-${process.pid}`;
let allowed = 0;
let denied = 0;

beforeAll(async () => {
  if (!scope.startsWith('/sluice-test')) throw new Error(`not the test instance's scope: ${JSON.stringify(scope)} (run through scripts/test.sh)`);
  if (!(await hasRuntime(docker, 'sluice'))) {
    throw new Error("dockerd does not know the 'sluice' runtime: start it with scripts/services.sh (it passes --add-runtime sluice=infra/runtime/sluice-runc)");
  }
  allowed = await net.tcp('127.0.0.7');
  denied = await net.tcp('127.0.0.8');
  const up = await sluiceCliAsync(['up', '--docker', '--timeout', '180']);
  if (up.code !== 0) throw new Error(`sluice up failed:\n${up.stderr}`);
  const file = join(mkdtempSync(join(tmpdir(), 'race-')), 'policy.yaml');
  writeFileSync(
    file,
    `version: 1
policies:
  - name: ${project}
    match: { project: ${project} }
    mode: enforce
    loopback: false
    egress:
      allow:
        - { cidr: 127.0.0.7/32, ports: [${allowed}], proto: tcp }
`,
  );
  const apply = await sluiceCliAsync(['policy', 'apply', file, '--reason', 'start race test']);
  if (apply.code !== 0) throw new Error(`policy apply failed:\n${apply.stderr}`);
}, 600_000);

afterAll(async () => {
  await sluiceCliAsync(['down']);
  await net.close();
});

const race = (host: string, port: number, count: number) =>
  startRace({
    docker,
    image: 'sluice/base:busybox',
    cgroupParent: `${scope}/agents`,
    labels: { 'dev.clawker.project': project, 'dev.clawker.agent': 'racer' },
    host,
    port,
    count,
    runtime: 'sluice',
  });

describe('the start race', () => {
  it('every container connects to its allowed destination at its first instruction', async () => {
    const r = await race('127.0.0.7', allowed, 12);
    expect(r.attempted).toBe(12);
    expect(r.exits).toEqual({ '0': 12 });
  }, 300_000);

  it('the same containers are enforced: a destination the policy does not allow is refused', async () => {
    const r = await race('127.0.0.8', denied, 2);
    expect(r.connected).toBe(0);
    expect(r.exits).toEqual({ '1': 2 });
  }, 120_000);
});
