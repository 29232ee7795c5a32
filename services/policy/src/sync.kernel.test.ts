// The policy service on the real kernel: its own pin dir and managed-scope cgroup (test/kernel
// Sandbox), a private nats-server with the accounts config, main.ts as a child process with the
// real sluice-bpf helper. Connects come from the probe inside test cgroups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { rmdirSync } from 'node:fs';
import { apiSubject, POLICY_API, type ApiReply, type ContainerLifecycle } from '@sluice/contracts';
import { policyEnv, type ServiceProcess, startAccountsNats, startPolicyService, startService, stopService, TEST_PASSWORDS, type TestNats } from '@sluice/testkit';
import { probe, sleep, until, type ProbeCounts, type ProbeResult } from '../../../test/kernel/exec.ts';
import { listeners } from '../../../test/kernel/net.ts';
import { Sandbox, type Cgroup } from '../../../test/kernel/sandbox.ts';

const NODE = 'kernel-test-node';
const sb = new Sandbox('policy-sync');
const net = listeners();
let nats: TestNats;
let operator: NatsConnection;
let attributor: NatsConnection;
let svc: ServiceProcess;
let c1: Cgroup;
let A: number; // 127.0.0.2
let B: number; // 127.0.0.4
let C: number; // 127.0.0.5

const doc = (rules: string[]) => `version: 1
policies:
  - name: agents
    match: { agent: a1 }
    loopback: false
    egress:
      allow:
${rules.map((r) => `        - ${r}`).join('\n')}
`;

const startPolicy = (): Promise<ServiceProcess> => startPolicyService(nats, sb, NODE);

async function call(verb: string, body: unknown): Promise<ApiReply> {
  return (await operator.request(apiSubject(POLICY_API, verb), JSON.stringify(body), { timeout: 10_000 })).json<ApiReply>();
}

async function applyDoc(yaml: string): Promise<number> {
  const r = await call('apply', { yaml, actor: 'kernel-test' });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return (r.result as { revision: number }).revision;
}

async function lifecycle(event: ContainerLifecycle['event'], cg: Cgroup, agent = 'a1'): Promise<void> {
  const m: ContainerLifecycle = {
    event,
    time: new Date().toISOString(),
    node: NODE,
    container_id: `ctr-${cg.id}`,
    cgroup_id: String(cg.id),
    ips: [],
    attribution: 'docker',
    agent,
    project: 'p',
    can_bypass_raw: false,
  };
  await jetstream(attributor).publish(`sluice.containers.${event}`, JSON.stringify(m));
}

async function connect(cg: Cgroup, port: number, host: string): Promise<string> {
  const [r] = await probe<ProbeResult>(cg.path, 'connect', host, port);
  return r!.ok ? 'OK' : r!.error;
}

async function maps(): Promise<string> {
  return JSON.stringify(await Promise.all(['policies', 'rules', 'resolvers', 'cgroup_policy', 'config'].map((m) => sb.dump(m))));
}

beforeAll(async () => {
  await sb.setup();
  [A, B, C] = await Promise.all([net.tcp('127.0.0.2'), net.tcp('127.0.0.4'), net.tcp('127.0.0.5')]);
  nats = await startAccountsNats();
  operator = await nats.connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD);
  attributor = await nats.connectAs('attributor', TEST_PASSWORDS.SLUICE_ATTRIBUTOR_PASSWORD);
  c1 = sb.cgroup('c1');
  svc = await startPolicy();
});

afterAll(async () => {
  if (svc) await stopService(svc, 5000);
  await operator?.close();
  await attributor?.close();
  await nats?.stop();
  await sb.teardown();
  await net.close();
});

describe('policy service on the real kernel', () => {
  it('fails closed: a cgroup with no entry gets the default (deny)', async () => {
    expect(await connect(c1, A, '127.0.0.2')).toBe('EPERM');
  });

  it('installs a container entry when it starts', async () => {
    await applyDoc(doc([`{ cidr: 127.0.0.2/32, ports: [${A}] }`]));
    const t0 = Date.now();
    await lifecycle('start', c1);
    await until(async () => (await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === String(c1.id)), 10_000, 'c1 entry');
    console.log(`container start -> entry installed: ${Date.now() - t0} ms`);
    expect(await connect(c1, A, '127.0.0.2')).toBe('OK');
    expect(await connect(c1, B, '127.0.0.4')).toBe('EPERM');
  });

  it('changes verdicts after apply while a connect loop never sees one outside old ∪ new', async () => {
    const loops = Promise.all([
      probe<ProbeCounts>(c1.path, 'paced', '127.0.0.2', A, 3000, 200), // allowed before and after
      probe<ProbeCounts>(c1.path, 'paced', '127.0.0.4', B, 3000, 200), // denied, then allowed
      probe<ProbeCounts>(c1.path, 'paced', '127.0.0.5', C, 3000, 200), // denied before and after
    ]);
    await sleep(500);
    const t0 = Date.now();
    await applyDoc(doc([`{ cidr: 127.0.0.0/29, ports: [${A}] }`, `{ cidr: 127.0.0.4/32, ports: [${B}] }`]));
    await until(async () => (await connect(c1, B, '127.0.0.4')) === 'OK', 10_000, 'B allowed');
    console.log(`apply -> verdict changed: ${Date.now() - t0} ms`);
    const [[a], [b], [c]] = await loops;
    expect(a!.outcomes).toEqual({ OK: a!.total });
    expect(c!.outcomes).toEqual({ EPERM: c!.total });
    expect(Object.keys(b!.outcomes).sort()).toEqual(['EPERM', 'OK']);
    expect(a!.total).toBeGreaterThan(100);
  });

  it('rejects invalid documents with precise errors and changes no map', async () => {
    const before = await maps();
    const cases: Array<[string, string, RegExp]> = [
      ['bad CIDR', doc([`{ cidr: 127.0.0.300/32, ports: [1] }`]), /not an IPv4 or IPv6 address/],
      ['unknown field', doc([`{ cidr: 127.0.0.0/8, ports: [1], action: allow }`]), /unknown field "action"/],
      ['port 70000', doc([`{ cidr: 127.0.0.0/8, ports: [70000] }`]), /port 70000 is out of range/],
      ['empty selector', doc([]).replace('{ agent: a1 }', '{}'), /empty selector/],
      ['YAML bomb', `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nversion: 1\n`, /alias bomb/],
    ];
    for (const [what, yaml, reason] of cases) {
      const r = await call('apply', { yaml, file: `${what}.yaml`, actor: 'kernel-test' });
      expect(r.ok, what).toBe(false);
      if (r.ok) continue;
      expect(r.error.code, what).toBe('invalid_policy');
      const errors = r.error.details as Array<{ file: string; line: number; reason: string }>;
      expect(errors.some((e) => reason.test(e.reason) && e.file === `${what}.yaml` && e.line > 0), `${what}: ${JSON.stringify(errors)}`).toBe(true);
    }
    // 10 MB never reaches the service: NATS refuses the payload (and the CLI refuses it locally).
    await expect(call('apply', { yaml: `version: 1\n# ${'x'.repeat(10 * 1024 * 1024)}\n`, actor: 'kernel-test' })).rejects.toThrow(/payload/i);
    expect(await maps()).toBe(before);
  });

  it('kill -9 leaves enforcement unchanged; a bypass still ends on time with the service stopped', async () => {
    const r = await call('bypass', { agent: 'a1', duration_s: 3, actor: 'kernel-test', reason: 'kernel test' });
    expect(r.ok).toBe(true);
    const expiresAt = Date.parse((r as { result: { expires_at: string } }).result.expires_at);
    await until(async () => (await connect(c1, C, '127.0.0.5')) === 'OK', 10_000, 'bypass active');
    const before = await maps();
    svc.child.kill('SIGKILL');
    await svc.exited;
    expect(await maps()).toBe(before);
    expect(await connect(c1, A, '127.0.0.2')).toBe('OK');
    // Nothing in user space is running for Sluice now: the kernel alone ends the bypass.
    await sleep(Math.max(0, expiresAt - Date.now()) + 300);
    expect(await connect(c1, C, '127.0.0.5')).toBe('EPERM');
    expect(await connect(c1, A, '127.0.0.2')).toBe('OK');
  });

  it('restarts without disruption, and a second policy service on the node refuses to start', async () => {
    const before = JSON.stringify(await sb.dump('cgroup_policy'));
    svc = await startPolicy();
    expect(JSON.stringify(await sb.dump('cgroup_policy'))).toBe(before);
    expect(await connect(c1, A, '127.0.0.2')).toBe('OK');
    // The expired bypass entry is cleaned up by the resync.
    await until(async () => (await sb.dump('bypass')).length === 0, 10_000, 'expired bypass removed');

    const second = startService('policy', await policyEnv(nats, sb, NODE));
    expect(await second.exited).toBe(3);
    expect(second.stderr()).toMatch(/locked by another sluice-bpf writer/);
    expect(second.stderr()).toMatch(/refusing to start/);
  });

  it('removes the entry on destroy, and reconcile removes entries of cgroups that vanished', async () => {
    const c2 = sb.cgroup('c2');
    await lifecycle('start', c2);
    await until(async () => (await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === String(c2.id)), 10_000, 'c2 entry');
    await lifecycle('destroy', c1);
    await until(async () => !(await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === String(c1.id)), 10_000, 'c1 entry removed');
    expect(await connect(c1, A, '127.0.0.2')).toBe('EPERM');
    // c2 disappears without a destroy message: the periodic reconcile notices.
    rmdirSync(c2.path);
    await until(async () => !(await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === String(c2.id)), 10_000, 'c2 entry reconciled away');
  });
});
