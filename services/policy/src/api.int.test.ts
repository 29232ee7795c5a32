// The policy service for real (main.ts as a child process) behind a private nats-server running
// infra/nats/accounts.conf: the API verbs end to end, KV revisions, audit events on JetStream,
// and the permission boundary (viewer and learner cannot call mutating verbs; nobody anonymous).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { apiSubject, AuditEvent, POLICY_API, STREAMS, type ApiReply } from '@sluice/contracts';
import { DEMO_POLICY_YAML, freePort, type ServiceProcess, startAccountsNats, startService, stopService, TEST_PASSWORDS, type TestNats, waitFor } from '@sluice/testkit';

const V1 = DEMO_POLICY_YAML;
const V2 = V1.replace('ports: [5432]', 'ports: [5432, "8000-8100"]');

let nats: TestNats;
let svc: ServiceProcess;
let operator: NatsConnection;
const audits: AuditEvent[] = [];

async function call(nc: NatsConnection, verb: string, body: unknown): Promise<ApiReply> {
  const r = await nc.request(apiSubject(POLICY_API, verb), typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 });
  return r.json<ApiReply>();
}

function ok<T = Record<string, unknown>>(r: ApiReply): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.result as T;
}

beforeAll(async () => {
  nats = await startAccountsNats();
  svc = startService('policy', {
    NATS_URL: nats.url,
    NATS_USER: 'policy',
    NATS_PASSWORD: TEST_PASSWORDS.SLUICE_POLICY_PASSWORD,
    METRICS_PORT: String(await freePort()),
    NODE_NAME: 'policy-int',
    LOG_LEVEL: 'warn',
  });
  operator = await nats.connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD);
  operator.subscribe('sluice.audit.>', { callback: (_e, m) => void audits.push(AuditEvent.parse(m.json())) });
  await waitFor('policy api', async () => {
    if (svc.child.exitCode !== null) throw new Error(`policy service exited: ${svc.stderr()}`);
    const r = await call(operator, 'history', {}).catch(() => undefined);
    return r?.ok ? true : undefined;
  });
});

afterAll(async () => {
  await operator?.close();
  if (svc) await stopService(svc, 5000);
  await nats?.stop();
});

describe('policy API over NATS with accounts', () => {
  it('applies, diffs, gets, lists history and rolls back, auditing each mutation', async () => {
    const a1 = ok<{ revision: number; change: { policies: { added: string[] } } }>(
      await call(operator, 'apply', { yaml: V1, file: 'v1.yaml', actor: 'alice', reason: 'initial' }),
    );
    expect(a1.change.policies.added).toEqual(['web']);

    const d = ok<{ rules: unknown[]; map_ops: string[]; before_revision: number }>(await call(operator, 'diff', { yaml: V2 }));
    expect(d.before_revision).toBe(a1.revision);
    expect(d.rules).toEqual([
      { policy: 'web', change: '-', rule: 'cidr 10.20.0.0/16 5432 tcp' },
      { policy: 'web', change: '+', rule: 'cidr 10.20.0.0/16 5432,8000-8100 tcp' },
    ]);
    // A changed policy is written under a new id, then the old one is deleted.
    expect(d.map_ops[0]).toMatch(/^rule \d+ \d+ 10\.20\.0\.0\/16 5432,8000-8100 tcp$/);
    expect(d.map_ops.at(-1)).toMatch(/^policy-del \d+$/);

    const a2 = ok<{ revision: number }>(await call(operator, 'apply', { yaml: V2, actor: 'bob', reason: 'open 8000-8100', expect_revision: a1.revision }));
    expect(a2.revision).toBeGreaterThan(a1.revision);
    expect(ok<{ yaml: string; revision: number }>(await call(operator, 'get', {}))).toMatchObject({ yaml: V2, revision: a2.revision, actor: 'bob' });
    expect(ok<{ yaml: string }>(await call(operator, 'get', { revision: a1.revision })).yaml).toBe(V1);

    const stale = await call(operator, 'apply', { yaml: V1, actor: 'carol', expect_revision: a1.revision });
    expect(stale).toMatchObject({ ok: false, error: { code: 'conflict' } });

    const rb = ok<{ revision: number }>(await call(operator, 'rollback', { revision: a1.revision, actor: 'alice', reason: 'revert' }));
    expect(ok<{ yaml: string }>(await call(operator, 'get', {})).yaml).toBe(V1);
    const hist = ok<Array<{ revision: number; actor: string; rollback_of?: number }>>(await call(operator, 'history', {}));
    expect(hist.map((h) => [h.revision, h.actor, h.rollback_of])).toEqual([
      [rb.revision, 'alice', a1.revision],
      [a2.revision, 'bob', undefined],
      [a1.revision, 'alice', undefined],
    ]);

    await waitFor('three audit events', async () => (audits.length >= 3 ? true : undefined), 5000);
    expect(audits.map((a) => [a.kind, a.actor, a.before_revision, a.after_revision])).toEqual([
      ['policy_apply', 'alice', 0, a1.revision],
      ['policy_apply', 'bob', a1.revision, a2.revision],
      ['policy_rollback', 'alice', a2.revision, rb.revision],
    ]);
    expect(audits[1]!.reason).toBe('open 8000-8100');
    // Audit events are in the SLUICE_CONTROL stream, not only on the wire.
    const jsm = await jetstreamManager(operator);
    expect((await jsm.streams.info(STREAMS.control.name)).state.messages).toBeGreaterThanOrEqual(3);
  });

  it('answers bad documents and bad requests with structured errors and stores nothing', async () => {
    const before = ok<unknown[]>(await call(operator, 'history', {})).length;
    const bad = await call(operator, 'apply', {
      yaml: 'version: 1\npolicies:\n  - { name: x, match: {}, egress: { allow: [ { cidr: 10.0.0.1/8, ports: [70000] } ] } }\n',
      file: 'bad.yaml',
      actor: 'alice',
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.code).toBe('invalid_policy');
    expect((bad.error.details as Array<{ path: string; line: number }>).map((e) => `${e.path}@${e.line}`)).toEqual([
      'policies[0].match@3',
      'policies[0].egress.allow[0].cidr@3',
      'policies[0].egress.allow[0].ports[0]@3',
    ]);
    expect(await call(operator, 'apply', { yaml: V1 })).toMatchObject({ ok: false, error: { code: 'bad_request', message: /actor/ } });
    expect(await call(operator, 'apply', '{not json')).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await call(operator, 'nonsense', {})).toMatchObject({ ok: false, error: { code: 'bad_request', message: /unknown verb/ } });
    expect(await call(operator, 'rollback', { revision: 999999, actor: 'a' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(ok<unknown[]>(await call(operator, 'history', {}))).toHaveLength(before);
  });

  it('a learner accept (through the operator) is audited as learner_accept', async () => {
    const cur = ok<{ revision: number }>(await call(operator, 'get', {}));
    const r = ok<{ revision: number }>(
      await call(operator, 'apply', { yaml: V2, actor: 'alice', reason: 'accept proposal', origin: 'learner', proposal_id: 'prop-7', expect_revision: cur.revision }),
    );
    await waitFor('learner_accept audit', async () => audits.find((a) => a.kind === 'learner_accept'), 5000);
    expect(audits.find((a) => a.kind === 'learner_accept')).toMatchObject({
      actor: 'alice',
      before_revision: cur.revision,
      after_revision: r.revision,
      detail: { proposal_id: 'prop-7' },
    });
  });

  it('bypass: create, list and cancel, audited', async () => {
    const b = ok<{ id: string; expires_at: string }>(
      await call(operator, 'bypass', { agent: 'agent-1', duration_s: 900, actor: 'alice', reason: 'debugging a registry outage' }),
    );
    const listed = ok<Array<{ id: string; expired: boolean }>>(await call(operator, 'bypass_list', {}));
    expect(listed).toEqual([expect.objectContaining({ id: b.id, agent: 'agent-1', expired: false })]);
    expect(await call(operator, 'bypass', { agent: 'agent-1', duration_s: 900, actor: 'alice' })).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: /reason/ },
    });
    ok(await call(operator, 'bypass_cancel', { id: b.id, actor: 'alice' }));
    expect(ok<unknown[]>(await call(operator, 'bypass_list', {}))).toEqual([]);
    await waitFor('bypass audits', async () => (audits.some((a) => a.kind === 'policy_bypass_cancel') ? true : undefined), 5000);
    expect(audits.find((a) => a.kind === 'policy_bypass')).toMatchObject({ actor: 'alice', subject: { agent: 'agent-1' }, reason: 'debugging a registry outage' });
  });

  it('an unauthorised identity cannot call a mutating verb; read verbs stay available to it', async () => {
    const before = ok<unknown[]>(await call(operator, 'history', {})).length;
    for (const [user, pass] of [
      ['viewer', TEST_PASSWORDS.SLUICE_VIEWER_PASSWORD],
      ['learner', TEST_PASSWORDS.SLUICE_LEARNER_PASSWORD],
      ['attributor', TEST_PASSWORDS.SLUICE_ATTRIBUTOR_PASSWORD],
    ] as const) {
      const nc = await nats.connectAs(user, pass);
      try {
        for (const verb of ['apply', 'rollback', 'bypass', 'bypass_cancel']) {
          await expect(call(nc, verb, { yaml: V2, actor: user, revision: 1, agent: 'a', duration_s: 60, reason: 'x', id: 'x' })).rejects.toThrow(
            /Permissions Violation for Publish to "sluice\.api\.policy\./,
          );
        }
        // Nor can it write the bucket behind the API's back.
        await expect(nc.request('$KV.sluice-policy.document', 'x', { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);
        if (user !== 'attributor') expect(ok(await call(nc, 'diff', { yaml: V2 }))).toHaveProperty('map_ops');
      } finally {
        await nc.close();
      }
    }
    await expect(nats.connectAs('operator', 'wrong-password')).rejects.toThrow(/Authorization Violation/);
    expect(ok<unknown[]>(await call(operator, 'history', {}))).toHaveLength(before);
  });
});
