// Issue 17, `sluice why` (must show): a real denied connect from a labelled Docker container in the
// test instance's managed scope, through the whole local pipeline (sluice up --docker: reader,
// attributor, policy, learner, sink) and the real kernel. The agent harness's view: a subscriber on
// sluice.denials.*.<project>.<agent> receives the denial with the smallest change that would allow
// it. The operator's view: `sluice why` by container, agent, cgroup id and pid prints the same,
// as a YAML snippet of the policy document. Then the suggested change is applied as printed and the
// very same connect succeeds from the same container: the advice is proven on the kernel, not
// only in the model. A raw socket from the same container is explained with no rule change.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { DenialNotice, subjects } from '@sluice/contracts';
import { dockerClient, hasRuntime, sluiceCli, testServer, waitFor } from '@sluice/testkit';
import { listeners } from '../kernel/net.ts';

const docker = dockerClient(testServer('DOCKER_HOST'));
const net = listeners();
const scope = (process.env.SLUICE_MANAGED_CGROUPS ?? '').split(',')[0]!;
const project = `why-${process.pid}`;
const agent = 'agent.why';
const name = `sluice-test-why-${process.pid}`;
let allowedPort = 0;
let deniedPort = 0;
let policyFile = '';
let nc: NatsConnection;
const feed: DenialNotice[] = [];

function exec(id: string, cmd: string[]): Promise<number> {
  return (async () => {
    const e = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    stream.resume();
    await new Promise((r) => stream.on('end', r));
    return ((await e.inspect()) as { ExitCode: number }).ExitCode;
  })();
}

beforeAll(async () => {
  if (!scope.startsWith('/sluice-test')) throw new Error(`not the test instance's scope: ${JSON.stringify(scope)} (run through scripts/test.sh)`);
  if (!(await hasRuntime(docker, 'sluice'))) throw new Error("dockerd does not know the 'sluice' runtime: start it with scripts/services.sh");
  allowedPort = await net.tcp('127.0.0.7');
  deniedPort = await net.tcp('127.0.0.8');
  const up = sluiceCli(['up', '--docker', '--timeout', '180']);
  if (up.code !== 0) throw new Error(`sluice up failed:\n${up.stderr}`);
  policyFile = join(mkdtempSync(join(tmpdir(), 'why-')), 'policy.yaml');
  writeFileSync(
    policyFile,
    `version: 1
policies:
  - name: ${project}
    match: { project: ${project} }
    mode: enforce
    loopback: false
    egress:
      allow:
        - { cidr: 127.0.0.7/32, ports: [${allowedPort}], proto: tcp }
`,
  );
  const apply = sluiceCli(['policy', 'apply', policyFile, '--reason', 'why test']);
  if (apply.code !== 0) throw new Error(`policy apply failed:\n${apply.stderr}`);
  nc = await connect({ servers: testServer('NATS_URL') });
  nc.subscribe(subjects.denialsFor(project, agent), { callback: (_e, m) => void feed.push(DenialNotice.parse(m.json())) });
  await nc.flush();
}, 600_000);

afterAll(async () => {
  await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  await nc?.close();
  sluiceCli(['down']);
  await net.close();
});

const why = (target: string, ...more: string[]) => sluiceCli(['why', target, '--since', '10m', ...more], { timeoutMs: 60_000 });
// Denials (`event`); DNS answers not believed (`dns_event`) are printed too, none expected here.
const jsonNotices = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as object)
    .filter((o) => 'event' in o)
    .map((o) => DenialNotice.parse(o));

describe('sluice why, on a real denied connect from a labelled container', () => {
  let containerId = '';
  let cgroupId = '';

  it('the agent harness receives the denial on its subject, with the change that allows it', async () => {
    const c = await docker.createContainer({
      name,
      Image: 'sluice/base:busybox',
      // A denied connect (EPERM), a raw socket (ping: Docker grants CAP_NET_RAW), then stay for `why <pid>`.
      Cmd: ['sh', '-c', `nc -w 3 127.0.0.8 ${deniedPort} </dev/null; echo nc=$?; ping -c 1 -W 1 127.0.0.1; echo ping=$?; sleep 300`],
      Labels: { 'dev.clawker.project': project, 'dev.clawker.agent': agent },
      HostConfig: { NetworkMode: 'host', CgroupParent: `${scope}/agents`, Runtime: 'sluice' },
    });
    containerId = c.id;
    await c.start();
    // Precondition: outside the scope the same destination is reachable (the listener is real).
    const direct = await new Promise<boolean>((res) => {
      const s = netConnect(deniedPort, '127.0.0.8', () => (s.end(), res(true)));
      s.on('error', () => res(false));
    });
    expect(direct).toBe(true);
    await waitFor('the container ran its attempts', async () => {
      const logs = (await c.logs({ stdout: true, stderr: true })).toString();
      return /ping=\d/.test(logs) ? logs : undefined;
    }, 60_000);
    const logs = (await c.logs({ stdout: true, stderr: true })).toString();
    expect(logs).toMatch(/nc=1/); // refused in the container: EPERM from the kernel

    const connectNotice = await waitFor('the denial on sluice.denials', async () => feed.find((n) => n.event.kind === 'connect' && n.event.dst_port === deniedPort), 60_000);
    expect(connectNotice.event).toMatchObject({ verdict: 'DENIED', project, agent, container_id: containerId, dst_ip: '127.0.0.8' });
    expect(connectNotice.advice.change).toMatchObject({
      policy: project,
      created: false,
      add: { cidr: '127.0.0.8/32', ports: [deniedPort], proto: 'tcp' },
      verified: true,
    });
    cgroupId = connectNotice.event.cgroup_id;
    const raw = await waitFor('the raw socket on sluice.denials', async () => feed.find((n) => n.event.kind === 'sock_create'), 30_000);
    expect(raw.advice.no_change).toMatchObject({ code: 'raw_socket' });
  }, 180_000);

  it('`sluice why` names the workload by container, agent, cgroup id and pid, and prints the same advice', async () => {
    const pid = ((await docker.getContainer(containerId).inspect()) as { State: { Pid: number } }).State.Pid;
    for (const target of [`container:${name}`, name, `agent:${agent}`, `cgroup:${cgroupId}`, String(pid)]) {
      const r = why(target, '--json', '--project', project);
      expect(r.code, `${target}: ${r.stderr}`).toBe(0);
      const list = jsonNotices(r.stdout);
      const n = list.find((x) => x.event.kind === 'connect' && x.event.dst_port === deniedPort);
      expect(n, `${target}: ${r.stdout}\n${r.stderr}`).toBeDefined();
      expect(n!.advice.change).toMatchObject({ add: { cidr: '127.0.0.8/32', ports: [deniedPort], proto: 'tcp' }, verified: true });
      expect(list.find((x) => x.event.kind === 'sock_create')?.advice.no_change?.code).toBe('raw_socket');
    }
    // The human form: reason, the YAML snippet in the policy document's format, the raw-socket note.
    const text = why(`container:${name}`);
    expect(text.code, text.stderr).toBe(0);
    // What the operator sees, kept in the test log.
    process.stderr.write(`--- sluice why container:${name}\n${text.stderr}${text.stdout}---\n`);
    expect(text.stderr).toContain(`container ${name}`);
    expect(text.stdout).toContain(`DENIED connect 127.0.0.8:${deniedPort}/tcp  reason=default`);
    expect(text.stdout).toContain(`# add to policy ${project}`);
    expect(text.stdout).toContain(`- { cidr: 127.0.0.8/32, ports: [ ${deniedPort} ], proto: tcp }`);
    expect(text.stdout).toMatch(/no rule change \(raw_socket\)/);
  }, 180_000);

  it('the change applied as printed lets the very same connect through from the same container', async () => {
    const r = why(`container:${name}`, '--json');
    const n = jsonNotices(r.stdout).find((x) => x.event.kind === 'connect')!;
    const snippet = parse(n.advice.change!.yaml) as { policies: Array<{ name: string; egress: { allow: unknown[] } }> };
    const doc = parseDocument(readFileSync(policyFile, 'utf8'));
    const allow = doc.getIn(['policies', 0, 'egress', 'allow']) as { add(v: unknown): void };
    for (const rule of snippet.policies[0]!.egress.allow) allow.add(doc.createNode(rule));
    writeFileSync(policyFile, doc.toString());
    const apply = sluiceCli(['policy', 'apply', policyFile, '--reason', 'why: apply the suggested change']);
    expect(apply.code, apply.stderr).toBe(0);
    await waitFor('the connect allowed', async () => ((await exec(containerId, ['nc', '-w', '3', '127.0.0.8', String(deniedPort)])) === 0 ? true : undefined), 30_000);
    // And now `why` says the remaining record is one the current revision allows.
    const after = jsonNotices(why(`container:${name}`, '--json').stdout).find((x) => x.event.kind === 'connect')!;
    expect(after.advice.no_change?.code).toBe('allowed_now');
  }, 120_000);
});
