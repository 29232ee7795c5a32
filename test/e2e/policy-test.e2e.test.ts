// Issue 16, "must show": `sluice policy test` on real stored events, from the two stores an
// operator gets — the README's main job (`sluice run`, whose events the sink keeps in the NDJSON
// store of the run dir when no OpenSearch is configured) and `sluice up --opensearch` (the sink's
// clawker-egress data stream). Each time a command in an enforced cgroup makes three attempts: two
// to addresses the policy allows, one it denies. Replayed against the current policy nothing
// changes (exit 0); against a candidate without one rule, exactly that rule's attempt is newly
// denied (exit 1) and nothing else moves. The real CLI, pipeline and kernel of the private instance.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sluiceCliAsync, testServer, waitFor } from '@sluice/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE } from '../kernel/exec.ts';
import { listeners } from '../kernel/net.ts';

const net = listeners();
const dir = mkdtempSync(join(tmpdir(), 'policy-test-e2e-'));
const ports: Record<'a' | 'b' | 'c', number> = { a: 0, b: 0, c: 0 };
const since = new Date().toISOString();

interface Simulated {
  replayed: number;
  unchanged: number;
  newly_denied: Array<{ project: string; agent: string; destination: string; port: number; proto: string; outcome: string; count: number }>;
  newly_allowed: Array<{ destination: string }>;
}

beforeAll(async () => {
  const scope = (process.env.SLUICE_MANAGED_CGROUPS ?? '').split(',')[0]!;
  if (!scope.startsWith('/sluice-test')) throw new Error(`not the test instance's scope: ${JSON.stringify(scope)} (run through scripts/test.sh)`);
  ports.a = await net.tcp('127.0.0.2');
  ports.b = await net.tcp('127.0.0.3');
  ports.c = await net.tcp('127.0.0.4');
});

afterAll(async () => {
  await sluiceCliAsync(['down']);
  await net.close();
}, 120_000);

/** The policy for one run's workload: the rule for 127.0.0.3 and one for 127.0.0.4 optional. */
function policyFile(name: string, project: string, rules: { b: boolean; c?: boolean }): string {
  const file = join(dir, `${name}.yaml`);
  const rule = (ip: string, port: number) => `        - { cidr: ${ip}/32, ports: [${port}], proto: tcp }\n`;
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
${rule('127.0.0.2', ports.a)}${rules.b ? rule('127.0.0.3', ports.b) : ''}${rules.c ? rule('127.0.0.4', ports.c) : ''}`,
  );
  return file;
}

/** `sluice run` as the README's main job runs it, unprivileged: allowed, allowed, denied. */
async function mainJob(project: string, policy: string, extra: string[] = []): Promise<void> {
  const r = await sluiceCliAsync([
    'run', ...extra, '--project', project, '--agent', 'job', '--policy', policy, '--user', '65534', '--',
    PROBE, 'connect', '127.0.0.2', String(ports.a), 'connect', '127.0.0.3', String(ports.b), 'connect', '127.0.0.4', String(ports.c),
  ]);
  expect(r.code, r.stderr).toBe(0);
  // The run's own table: precondition that the kernel really allowed two and denied one.
  expect(r.stderr).toMatch(/127\.0\.0\.4\s.*DENIED/);
  expect(r.stderr).toMatch(/127\.0\.0\.3\s.*ALLOWED/);
}

async function policyTest(file: string, project: string, source: string[]): Promise<{ code: number | null; result: Simulated; stderr: string }> {
  const r = await sluiceCliAsync(['policy', 'test', file, '--project', project, '--from', since, ...source, '--json']);
  if (r.code !== 0 && r.code !== 1) throw new Error(`policy test exited ${r.code}: ${r.stderr}`);
  return { code: r.code, result: JSON.parse(r.stdout) as Simulated, stderr: r.stderr };
}

async function exercise(project: string, source: string[], runFlags: string[]): Promise<void> {
  const current = policyFile(`${project}-current`, project, { b: true });
  const withoutB = policyFile(`${project}-without-b`, project, { b: false });
  const open = policyFile(`${project}-open`, project, { b: true, c: true });
  await mainJob(project, current, runFlags);

  // The sink writes asynchronously. The denied attempt is the run's last record, so once a
  // candidate that allows it shows it newly allowed, the whole run is in the store.
  await waitFor(
    `the run's denied attempt in the store (${source.join(' ')})`,
    async () => {
      const t = await policyTest(open, project, source);
      return t.result.newly_allowed.length > 0 ? t : undefined;
    },
    90_000,
  );

  const now = await policyTest(current, project, source);
  expect(now.code, now.stderr).toBe(0);
  expect(now.result.replayed).toBeGreaterThanOrEqual(3);
  expect(now.result).toMatchObject({ unchanged: now.result.replayed, newly_denied: [], newly_allowed: [] });

  const without = await policyTest(withoutB, project, source);
  expect(without.code, without.stderr).toBe(1);
  expect(without.result.replayed).toBe(now.result.replayed);
  expect(without.result.newly_allowed).toEqual([]);
  // Exactly the removed rule's attempt, nothing else: 127.0.0.2 stays allowed, 127.0.0.4 stays denied.
  expect(without.result.newly_denied.map((g) => [g.project, g.agent, g.destination, g.port, g.proto, g.outcome])).toEqual([
    [project, 'job', '127.0.0.3', ports.b, 'tcp', 'DENIED'],
  ]);
  expect(without.result.newly_denied[0]!.count).toBeGreaterThanOrEqual(1);
  expect(without.result.unchanged).toBe(now.result.replayed - without.result.newly_denied[0]!.count);
}

describe('sluice policy test on stored events', () => {
  it('the NDJSON store of `sluice run` (no OpenSearch): current policy exit 0, one rule removed exit 1 with exactly its attempt', async () => {
    await exercise(`ptest-ndjson-${process.pid}`, ['--source', 'ndjson'], []);
  }, 300_000);

  it('the OpenSearch store of `sluice up --opensearch`: the same answer', async () => {
    const url = testServer('OPENSEARCH_URL');
    // The pipeline of the first test writes NDJSON: bring it up again with the sink on OpenSearch.
    expect((await sluiceCliAsync(['down'])).code).toBe(0);
    const up = await sluiceCliAsync(['up', '--opensearch', '--timeout', '240']);
    expect(up.code, up.stderr).toBe(0);
    await exercise(`ptest-os-${process.pid}`, ['--source', 'opensearch', '--opensearch', url], ['--opensearch']);
  }, 600_000);
});
