// The start race (issue 15): of N labelled containers whose first instruction connects to a
// destination their policy allows, the share that get through. With the sluice runtime (the
// wrapper holds runc create until the cgroup's entry is in the maps) the goal is 1.0; plain runc is
// measured beside it, in the same run, to show the race the wrapper closes. The local pipeline of
// the bench's private instance (`sluice up --docker`), real kernel, real Docker; loopback only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerClient, hasRuntime, sluiceCliAsync, startRace, testServer } from '@sluice/testkit';
import { median, percentile } from './lib/stats.ts';
import { listeners } from '../test/kernel/net.ts';

const N = Number(process.env.BENCH_START_RACE_N ?? 200);
const N_BASELINE = Number(process.env.BENCH_START_RACE_BASELINE_N ?? 40);

export async function run(): Promise<Record<string, number>> {
  const docker = dockerClient(testServer('DOCKER_HOST'));
  if (!(await hasRuntime(docker, 'sluice'))) throw new Error("dockerd has no 'sluice' runtime (scripts/services.sh registers it)");
  const scope = (process.env.SLUICE_MANAGED_CGROUPS ?? '').split(',')[0]!;
  if (!scope.startsWith('/sluice-test')) throw new Error('no private instance scope in the environment (run through pnpm bench)');
  const net = listeners();
  const port = await net.tcp('127.0.0.7');
  const project = `bench-race-${process.pid}`;
  try {
    const up = await sluiceCliAsync(['up', '--docker', '--timeout', '180']);
    if (up.code !== 0) throw new Error(`sluice up failed: ${up.stderr.slice(-2000)}`);
    const file = join(mkdtempSync(join(tmpdir(), 'bench-race-')), 'policy.yaml');
    writeFileSync(
      file,
      `version: 1\npolicies:\n  - name: ${project}\n    match: { project: ${project} }\n    mode: enforce\n    loopback: false\n    egress:\n      allow:\n        - { cidr: 127.0.0.7/32, ports: [${port}], proto: tcp }\n`,
    );
    const apply = await sluiceCliAsync(['policy', 'apply', file, '--reason', 'start race bench']);
    if (apply.code !== 0) throw new Error(`policy apply failed: ${apply.stderr.slice(-2000)}`);
    const base = { docker, image: 'sluice/base:busybox', cgroupParent: `${scope}/agents`, labels: { 'dev.clawker.project': project, 'dev.clawker.agent': 'racer' }, host: '127.0.0.7', port };
    process.stderr.write(`start-race: ${N} containers with the sluice runtime …\n`);
    const wrapped = await startRace({ ...base, count: N, runtime: 'sluice' });
    process.stderr.write(`start-race: ${N_BASELINE} containers with plain runc …\n`);
    const plain = await startRace({ ...base, count: N_BASELINE });
    process.stderr.write(`start-race: sluice ${wrapped.connected}/${wrapped.attempted} ${JSON.stringify(wrapped.exits)}; runc ${plain.connected}/${plain.attempted} ${JSON.stringify(plain.exits)}\n`);
    return {
      'start_race.allowed_ratio': wrapped.connected / wrapped.attempted,
      'start_race.containers': wrapped.attempted,
      'start_race.runc_allowed_ratio': plain.connected / plain.attempted,
      'start_race.run_to_exit_ms_p50': Math.round(median(wrapped.durationsMs)),
      'start_race.run_to_exit_ms_p99': Math.round(percentile(wrapped.durationsMs, 99)),
      'start_race.runc_run_to_exit_ms_p50': Math.round(median(plain.durationsMs)),
    };
  } finally {
    await sluiceCliAsync(['down']);
    await net.close();
  }
}
