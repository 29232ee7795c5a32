// `sluice policy` as operators run it (the CLI as a child process) against the policy service and
// a private nats-server with infra/nats/accounts.conf.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, type ServiceProcess, startAccountsNats, startService, stopService, TEST_PASSWORDS, type TestNats, waitFor } from '@sluice/testkit';

let nats: TestNats;
let svc: ServiceProcess;
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-policy-int-'));

function sluice(args: string[], user = 'operator', pass = TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli/src/main.ts'), 'policy', ...args], {
      env: { ...process.env, NATS_URL: nats.url, SLUICE_NATS_USER: user, SLUICE_NATS_PASSWORD: pass, SLUICE_ACTOR: 'cli-test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  nats = await startAccountsNats();
  svc = startService('policy', {
    NATS_URL: nats.url,
    NATS_USER: 'policy',
    NATS_PASSWORD: TEST_PASSWORDS.SLUICE_POLICY_PASSWORD,
    METRICS_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  });
  await waitFor('policy service', async () => ((await sluice(['history'])).code === 0 ? true : undefined));
});

afterAll(async () => {
  if (svc) await stopService(svc, 5000);
  await nats?.stop();
});

describe('sluice policy against the service', () => {
  it('apply prints the compiled change; get, history, diff and rollback work', async () => {
    const v1 = join(dir, 'v1.yaml');
    const v2 = join(dir, 'v2.yaml');
    writeFileSync(v1, 'version: 1\npolicies:\n  - name: web\n    match: { project: demo }\n    egress: { allow: [ { cidr: 10.0.0.0/8, ports: [443] } ] }\n');
    writeFileSync(v2, 'version: 1\npolicies:\n  - name: web\n    match: { project: demo }\n    egress: { allow: [ { cidr: 10.0.0.0/8, ports: [443, 80] } ] }\n');
    const a = await sluice(['apply', v1, '--reason', 'first']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('+ web: cidr 10.0.0.0/8 443 tcp');
    expect(a.stdout).toMatch(/^# map operations \(\d+\), in order:$/m);
    const rev1 = Number(/applied as revision (\d+)/.exec(a.stderr)![1]);

    const d = await sluice(['diff', v2]);
    expect(d.stdout).toContain('- web: cidr 10.0.0.0/8 443 tcp\n+ web: cidr 10.0.0.0/8 443,80 tcp');
    expect((await sluice(['apply', v2])).code).toBe(0);
    expect((await sluice(['get'])).stdout).toContain('ports: [443, 80]');
    const rb = await sluice(['rollback', String(rev1), '--reason', 'back']);
    expect(rb.code, rb.stderr).toBe(0);
    expect((await sluice(['get'])).stdout).toContain('ports: [443] }');
    const h = JSON.parse((await sluice(['history', '--json'])).stdout) as Array<{ actor: string; rollback_of?: number }>;
    expect(h).toHaveLength(3);
    expect(h[0]).toMatchObject({ actor: 'cli-test', rollback_of: rev1 });
  });

  it('exits 2 on an invalid document and 1 when the identity may not mutate', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\npolicies:\n  - { name: x, match: {} }\n');
    const r = await sluice(['apply', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3:23: policies[0].match: empty selector`);
    const good = join(dir, 'v1.yaml');
    const denied = await sluice(['apply', good], 'viewer', TEST_PASSWORDS.SLUICE_VIEWER_PASSWORD);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/Permissions Violation for Publish to "sluice\.api\.policy\.apply"/);
    const bypass = await sluice(['bypass', '--agent', 'a', '--for', '15m', '--reason', 'x'], 'viewer', TEST_PASSWORDS.SLUICE_VIEWER_PASSWORD);
    expect(bypass.code).toBe(1);
  });
});
