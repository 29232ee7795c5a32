// `sluice run` on the real kernel with the real local pipeline (NATS, Redis and the five services
// started by the command itself): the command's connects are enforced in its fresh cgroup,
// attributed to the run's project/agent, counted in the exit table, and learned with --learn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const tag = `${process.pid}`;
let server: Server;
let port = 0;

function sluice(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** bash's /dev/tcp: one connect, exit 0 on success, 1 on failure (EPERM included). */
const connectTo = (host: string) => `exec 3<>/dev/tcp/${host}/${port}`;

beforeAll(async () => {
  server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.3', () => r()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  sluice('down');
  await new Promise((r) => server.close(r));
});

describe('sluice run', () => {
  it('runs a command in learn mode, reports its attempts and prints the learned diff', () => {
    const r = sluice('run', '--project', `run-test ${tag}`, '--agent', 'learner.1', '--learn', '--', 'bash', '-c', connectTo('127.0.0.3'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/running bash .* as run-test \d+\/learner\.1 \(cgroup \d+, learn\)/);
    expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.3\\s+${port}\\s+tcp\\s+ALLOWED \\(would deny\\)\\s+1`));
    // The learner's proposal names the destination with its port.
    expect(r.stdout).toContain('127.0.0.3/32');
    expect(r.stdout).toContain(String(port));
  }, 300_000);

  it('enforces an operator policy: the allowed destination connects, another gets EPERM and a DENIED row', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'run-policy-')), 'policy.yaml');
    writeFileSync(
      file,
      `version: 1
policies:
  - name: run-enforce-${tag}
    match: { project: run-enforce-${tag}, agent: probe }
    mode: enforce
    loopback: false
    egress:
      allow:
        - { cidr: 127.0.0.3/32, ports: [${port}], proto: tcp }
`,
    );
    const ok = sluice('run', '--project', `run-enforce-${tag}`, '--agent', 'probe', '--policy', file, '--', 'bash', '-c', connectTo('127.0.0.3'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(new RegExp(`127\\.0\\.0\\.3\\s+${port}\\s+tcp\\s+ALLOWED\\s+1`));

    const denied = sluice('run', '--project', `run-enforce-${tag}`, '--agent', 'probe', '--policy', file, '--', 'bash', '-c', connectTo('127.0.0.4'));
    expect(denied.code).toBe(1); // the command's own exit code: its connect failed
    expect(denied.stderr).toMatch(/Operation not permitted/);
    expect(denied.stderr).toMatch(new RegExp(`127\\.0\\.0\\.4\\s+${port}\\s+tcp\\s+DENIED\\s+1`));
  }, 300_000);

  it('leaves the pipeline up: status reports every service ready with its consumer lag', () => {
    const r = sluice('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ name: string; ready: boolean; lag: number | null; dropped: Record<string, number> }>;
    expect(rows.map((x) => x.name)).toEqual(['bpf-reader', 'attributor', 'policy', 'learner', 'sink', 'otlp-receiver']);
    expect(rows.every((x) => x.ready)).toBe(true);
    // The consuming services have durables by now (the runs above went through them).
    for (const name of ['attributor', 'learner', 'sink']) expect(typeof rows.find((x) => x.name === name)!.lag).toBe('number');
  });
});
