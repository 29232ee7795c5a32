// Issue 10, the compose deployment end to end on the real Docker engine: the images build from local
// bases, infra/docker-compose.yml comes up with every service healthy, a labelled agent container's
// egress attempts land in OpenSearch with its exact labels, agents' networks cannot reach NATS, and
// `down -v` leaves nothing behind. The tests run in order and share one stack (bringing it up is the
// expensive part).
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ComposeStack, Fatal, mustRun, REPO_ROOT, run, waitFor } from './compose.ts';

const SERVICES = ['nats', 'redis', 'opensearch', 'prometheus', 'policy', 'bpf-reader', 'attributor', 'learner', 'sink', 'otlp-receiver'];
const APP_SERVICES: Record<string, number> = { 'bpf-reader': 9464, attributor: 9465, policy: 9466, learner: 9467, sink: 9468, 'otlp-receiver': 9469 };
// Dots, spaces and non-ASCII: label values reach documents raw (D17) through the subject token
// encoding, never synthesised or normalised.
const AGENT = 'agent.one two';
const PROJECT = 'proj.e2e ünï';
const PORTS = [4001, 4002, 4003, 4004, 4005];
// TEST-NET-1: never routed, and denied by the default policy before a packet leaves anyway.
const DST = '192.0.2.10';

let stack: ComposeStack | undefined;
const agents: string[] = [];
let tornDown = false;

function need(): ComposeStack {
  if (!stack) throw new Error('the stack was not created (the image build failed)');
  return stack;
}

afterAll(async () => {
  if (!stack || tornDown) return;
  // A failed run still leaves the machine clean (and says what the services logged).
  process.stderr.write(`[compose-e2e] cleaning up ${stack.project} after a failure; last logs:\n${await stack.logs()}\n`);
  for (const a of agents) await run('docker', ['rm', '-f', a]);
  await stack.compose(['down', '-v', '--remove-orphans']);
  stack.removeKernelState();
}, 180_000);

describe('docker compose deployment', () => {
  it('builds every image from the local bases, and an unchanged tree rebuilds nothing', async () => {
    const started = Date.now();
    const out = await mustRun('bash', [`${REPO_ROOT}/scripts/build-images.sh`], { echo: 'build-images' });
    process.stderr.write(`[compose-e2e] images ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
    const images = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(Object.keys(images).sort()).toEqual(
      ['SLUICE_APP_IMAGE', 'SLUICE_NATS_IMAGE', 'SLUICE_OPENSEARCH_IMAGE', 'SLUICE_PROMETHEUS_IMAGE', 'SLUICE_REDIS_IMAGE'],
    );
    for (const image of Object.values(images)) {
      expect(image).toMatch(/^sluice\/[a-z]+:[0-9a-f]{16}$/);
      await mustRun('docker', ['image', 'inspect', image]);
    }
    // Content-hash tags: a second run finds every image up to date and names the same tags.
    const again = await run('bash', [`${REPO_ROOT}/scripts/build-images.sh`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(out);
    expect(again.stderr).not.toMatch(/: building/);
    stack = new ComposeStack(images);
  }, 900_000);

  it('comes up with every service healthy (OpenSearch Dashboards stays behind its profile)', async () => {
    const s = need();
    // 1.29 starts each service only once its depends_on are healthy, and fails if one turns unhealthy.
    const up = await s.compose(['up', '-d'], 'compose');
    if (up.code !== 0) throw new Error(`compose up exited ${up.code}; service logs:\n${await s.logs()}`);
    const healthy = await waitFor('every service healthy', 300_000, async () => {
      const cs = await s.containers();
      for (const c of cs) {
        if (c.state === 'exited' || c.state === 'dead' || c.health === 'unhealthy') {
          throw new Fatal(`${c.service} is ${c.state}/${c.health}:\n${await s.logs()}`);
        }
      }
      return cs.length === SERVICES.length && cs.every((c) => c.state === 'running' && c.health === 'healthy') ? cs : undefined;
    }, 2000);
    expect(healthy.map((c) => c.service).sort()).toEqual([...SERVICES].sort());

    // Each Sluice service's own verdict, not only Docker's reading of the healthcheck exit code.
    for (const [service, port] of Object.entries(APP_SERVICES)) {
      const body = JSON.parse(await s.exec(service, ['curl', '-fsS', `http://127.0.0.1:${port}/readyz`])) as { ready: boolean };
      expect(body.ready, `${service} /readyz`).toBe(true);
    }
    // Prometheus reaches all six by compose service name.
    const targets = await waitFor('prometheus scraping the six services', 60_000, async () => {
      const r = JSON.parse(await s.exec('prometheus', ['curl', '-fsS', 'http://127.0.0.1:9090/api/v1/targets'])) as {
        data: { activeTargets: Array<{ labels: { job: string; service?: string }; health: string }> };
      };
      const up = r.data.activeTargets.filter((t) => t.labels.job === 'sluice' && t.health === 'up').map((t) => t.labels.service);
      return up.length === Object.keys(APP_SERVICES).length ? up : undefined;
    });
    expect(targets.sort()).toEqual(Object.keys(APP_SERVICES).sort());
  }, 420_000);

  it("keeps NATS out of an agent network's reach", async () => {
    const s = need();
    const infra = `${s.project}_infra`;
    const natsId = await s.containerOf('nats');
    const ip = (await mustRun('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${infra}").IPAddress}}`, natsId])).trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Not in the managed scope, so only the network decides: from the infrastructure network the
    // port answers (the address is right), from an ordinary bridge network it does not.
    const probe = (network: string) =>
      run('docker', ['run', '--rm', '--network', network, 'sluice/base:busybox', 'nc', '-w', '3', ip, '4222']);
    expect((await probe(infra)).code).toBe(0);
    expect((await probe('bridge')).code).not.toBe(0);
  }, 60_000);

  it("records a labelled agent's egress attempts in OpenSearch with its exact labels", async () => {
    const s = need();
    const script = `for p in ${PORTS.join(' ')}; do nc -w 1 ${DST} $p </dev/null; echo "$p rc=$?"; done; sleep 300`;
    const agent = (
      await mustRun('docker', [
        'run', '-d', '--cgroup-parent', s.agentParent,
        '--label', `dev.clawker.agent=${AGENT}`, '--label', `dev.clawker.project=${PROJECT}`,
        'sluice/base:busybox', 'sh', '-c', script,
      ])
    ).trim();
    agents.push(agent);
    // The kernel said no (default policy: deny), so each attempt failed with EPERM at connect().
    const log = await waitFor('the agent to finish its attempts', 60_000, async () => {
      const r = await run('docker', ['logs', agent]);
      const l = r.stdout + r.stderr;
      return PORTS.every((p) => l.includes(`${p} rc=`)) ? l : undefined;
    });
    expect(log).toMatch(/Operation not permitted/);

    const query = JSON.stringify({ size: 100, query: { term: { 'attributes.container_id': agent } } });
    type Hit = { _source: { attributes: Record<string, unknown> } };
    const hits = await waitFor('the attempts as OpenSearch documents', 120_000, async () => {
      const r = JSON.parse(
        await s.exec('opensearch', [
          'curl', '-fsS', '-H', 'content-type: application/json', '-d', query,
          'http://127.0.0.1:9200/clawker-egress/_search?ignore_unavailable=true',
        ]),
      ) as { hits: { hits: Hit[] } };
      return r.hits.hits.length >= PORTS.length ? r.hits.hits : undefined;
    }, 2000);
    const docs = hits.map((h) => h._source.attributes);
    // Exactly one document per attempt (idempotent ids), each with the raw label values.
    expect(docs.map((d) => d.dst_port).sort()).toEqual(PORTS);
    for (const d of docs) {
      expect(d).toMatchObject({ agent: AGENT, project: PROJECT, attribution: 'docker', verdict: 'DENIED', dst_ip: DST, l4_proto: 'tcp' });
    }
  }, 240_000);

  it('tears down to nothing: no container, network, volume, pin or cgroup left', async () => {
    const s = need();
    for (const a of agents) await mustRun('docker', ['rm', '-f', a]);
    await s.mustCompose(['down', '-v', '--remove-orphans'], 'compose');
    expect(await s.leftovers()).toEqual([]);
    s.removeKernelState();
    tornDown = true;
    expect(existsSync(s.pinDir)).toBe(false);
    expect(existsSync(`${s.cgroupRoot}${s.scope}`)).toBe(false);
  }, 180_000);
});
