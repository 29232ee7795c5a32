// Issue 8, accept: the diff goes through the real policy API (the policy service's own handler and
// KV store, on a private bucket and subject prefix), is audited, and the revision it creates allows
// exactly what was learned. The kernel half — the maps enforcing it — is the policy service's; here
// the stored revision is compiled and evaluated with the policy service's model of the kernel.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { hostMatches, parsePolicy, STREAMS, type PolicyDocument } from '@sluice/contracts';
import { createLogger, ensureKv, ensureStream } from '@sluice/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { attempt, learnerHarness, type LearnerHarness, REPO_ROOT } from '@sluice/testkit';
import { PolicyApi } from '../../policy/src/api.ts';
import { compile } from '../../policy/src/compile.ts';
import { evaluate } from '../../policy/src/evaluate.ts';
import { auditPublisher, servePolicyApi } from '../../policy/src/server.ts';
import { PolicyStore } from '../../policy/src/store.ts';

const run = promisify(execFile);
let h: LearnerHarness;
let bucket: string;
let policyPrefix: string;
let sub: Subscription;
let store: PolicyStore;

beforeAll(async () => {
  bucket = `learntest-policy-${process.pid}-${Date.now()}`;
  policyPrefix = `learntest.${process.pid}${Date.now()}.api.policy`;
  h = await learnerHarness('accept', { LEARNER_POLICY_API: policyPrefix });
  await ensureStream(h.jsm, STREAMS.control, createLogger('test', 'silent'));
  store = new PolicyStore(await ensureKv(h.nc, bucket, 64));
  const api = new PolicyApi({ store, audit: auditPublisher(jetstream(h.nc)) });
  sub = servePolicyApi(h.nc, api, createLogger('test', 'silent'), undefined, policyPrefix);
  await h.spawn();
});

afterAll(async () => {
  sub?.unsubscribe();
  await store?.kv.destroy().catch(() => undefined);
  await h?.close();
});

const sluice = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli', 'src', 'main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NATS_URL: h.natsUrl, SLUICE_ACTOR: 'learn-test', SLUICE_POLICY_API: policyPrefix },
  });

describe('learn accept', () => {
  it('applies exactly the learned destinations through the policy API, audited, and switches to enforce', async () => {
    const initial = `# operator policy
version: 1
policies:
  - name: team
    match: { project: ${JSON.stringify(h.project)} }
    mode: learn
    # enforce trusts DNS answers only from listed resolvers: without one, accept --enforce is refused
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: unused.example.net, ports: [443] }
`;
    const first = await h.nc.request(`${policyPrefix}.apply`, JSON.stringify({ yaml: initial, actor: 'test' }), { timeout: 10_000 });
    expect(JSON.parse(first.string())).toMatchObject({ ok: true, result: { revision: expect.any(Number) } });
    const before = (await store.current())!.revision;

    const started = await sluice(['learn', 'start', '--project', h.project]);
    expect(started.stderr).toContain('started');
    const a = (dst: Parameters<typeof attempt>[3]) => attempt(h.run, h.project, 'bot', dst);
    await h.publish('bot', [
      a({ host: 'api.learn.test', ip: '10.98.0.1', port: 443 }),
      a({ host: 'api.learn.test', ip: '10.98.0.1', port: 8443 }),
      a({ host: 'files.other.test', ip: '10.98.0.2', port: 443 }),
      a({ ip: '203.0.113.50', port: 8080 }),
    ]);
    await h.drained();

    const diff = await sluice(['learn', 'diff', '--project', h.project]);
    const proposal = parse(diff.stdout);
    expect(proposal.policy).toBe('team');
    expect(proposal.add.map((x: any) => [x.host ?? x.cidr, x.ports])).toEqual([
      ['api.learn.test', [443, 8443]],
      ['files.other.test', [443]],
      ['203.0.113.50/32', [8080]],
    ]);
    expect(proposal.prune.map((x: any) => x.rule)).toEqual(['unused.example.net tcp 443']);

    const accepted = await sluice(['learn', 'accept', '--project', h.project, '--enforce', '--reason', 'learned in CI']);
    expect(accepted.stderr).toContain("proof: the session's 4 would-deny attempt(s) to 4 destination(s), replayed against the applied policy: 0 would be denied");
    expect(accepted.stdout.trim().split('\n')).toEqual([
      '+ api.learn.test tcp 443,8443',
      '+ files.other.test tcp 443',
      '+ 203.0.113.50/32 tcp 8080',
    ]);

    const rev = (await store.current())!;
    expect(rev.revision).toBeGreaterThan(before);
    expect(rev.meta).toMatchObject({ actor: 'learn-test', reason: 'learned in CI' });
    expect(rev.yaml).toContain('# operator policy');
    const parsed = parsePolicy(rev.yaml);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const doc: PolicyDocument = parsed.document;
    const team = doc.policies.find((p) => p.name === 'team')!;
    expect(team.mode).toBe('enforce');
    expect(team.egress.allow.map((r) => ('host' in r ? r.host.text : r.cidr.text))).toEqual([
      'unused.example.net',
      'api.learn.test',
      'files.other.test',
      '203.0.113.50/32',
    ]);

    // Exactly those are allowed now; a new host or address is not.
    const hostAllowed = (host: string, port: number) =>
      team.egress.allow.some((r) => 'host' in r && hostMatches(r.host, host) && r.ports.some((p) => port >= p.from && port <= p.to));
    expect(hostAllowed('api.learn.test', 8443)).toBe(true);
    expect(hostAllowed('files.other.test', 443)).toBe(true);
    expect(hostAllowed('new.learn.test', 443)).toBe(false);
    expect(hostAllowed('api.learn.test', 22)).toBe(false);
    const compiled = compile({ document: doc, workloads: [{ cgroup_id: '777', project: h.project }] });
    expect(evaluate(compiled.state, { cgroup_id: '777', dst: '203.0.113.50', port: 8080, proto: 'tcp' })).toBe('ALLOWED');
    expect(evaluate(compiled.state, { cgroup_id: '777', dst: '203.0.113.51', port: 8080, proto: 'tcp' })).toBe('DENIED');
    expect(evaluate(compiled.state, { cgroup_id: '777', dst: '203.0.113.50', port: 8081, proto: 'tcp' })).toBe('DENIED');

    // Audited twice: the policy service's policy_apply (the operator's act) and the learner's learn_accept.
    const applyAudit = await h.jsm.streams.getMessage(STREAMS.control.name, { last_by_subj: 'sluice.audit.policy_apply' });
    expect(applyAudit?.json()).toMatchObject({ kind: 'policy_apply', actor: 'learn-test', reason: 'learned in CI', after_revision: rev.revision });
    const audit = await h.jsm.streams.getMessage(STREAMS.control.name, { last_by_subj: 'sluice.audit.learn_accept' });
    expect(audit?.json()).toMatchObject({
      kind: 'learn_accept',
      actor: 'learn-test',
      after_revision: rev.revision,
      subject: { project: h.project },
      detail: { policy: 'team', enforce: true, added: ['api.learn.test tcp 443,8443', 'files.other.test tcp 443', '203.0.113.50/32 tcp 8080'] },
    });

    // After accept the diff against the new revision is empty.
    const after = parse((await sluice(['learn', 'diff', '--project', h.project])).stdout);
    expect(after.add).toEqual([]);
  });

  it('fails clearly, changing nothing, when the policy service is not there (diff degrades, says so)', async () => {
    sub.unsubscribe();
    const rev = (await store.current())!.revision;
    await h.publish('bot', [attempt(h.run, h.project, 'bot', { host: 'late.learn.test', ip: '10.98.0.9', port: 443 })]);
    await h.drained();
    const r = await h.request('prepare', { project: h.project });
    expect(r).toMatchObject({ ok: false, error: { code: 'policy_unavailable' } });
    const cli = await sluice(['learn', 'accept', '--project', h.project]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/policy_unavailable: policy service did not answer/);
    expect((await store.current())!.revision).toBe(rev);
    // diff degrades to "against no policy" and says so
    const d = await h.request('diff', { project: h.project });
    expect(d.ok).toBe(true);
    expect(d.result.warning).toMatch(/did not answer/);
  });
});
