// The live enforcement canary (issue #17) on the real kernel, through the real policy service:
// healthy, its verdicts are right and the service is ready; then enforcement is broken for real,
// three ways an operator (or an attacker with root) could, and each time enforcement_broken shows
// on every channel (gauge, audit event on sluice.audit.*, readiness, `sluice status`, the doctor
// check) by the second round after the break; repaired, it clears. Own Sandbox (pin dir + scope),
// private NATS; the canary every second, the map reconcile effectively off so a break stays
// broken until the test repairs it.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiSubject,
  AuditEvent,
  CANARY_AUDIT_KINDS,
  CANARY_ROUNDS_METRIC,
  ENFORCEMENT_BROKEN_METRIC,
  POLICY_API,
  subjects,
  type ApiReply,
  type CanaryAttempt,
} from '@sluice/contracts';
import { metricByLabel, metricValue } from '@sluice/runtime';
import { policyEnv, scrape, startService, stopService, startAccountsNats, TEST_PASSWORDS, waitFor, type ServiceProcess, type TestNats } from '@sluice/testkit';
import { enforcementCanary } from '../../cli/src/doctor/canary.ts';
import { canaryOf } from '../../cli/src/local/canary.ts';
import { probe as probeService } from '../../cli/src/local/pipeline.ts';
import { run } from './exec.ts';
import { Sandbox } from './sandbox.ts';

const NODE = 'canary-kernel-node';
const INTERVAL_S = 1;
const CLI = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));
const sb = new Sandbox('canary');
let nats: TestNats;
let operator: Awaited<ReturnType<TestNats['connectAs']>>;
let svc: ServiceProcess;
let port: number;
let canaryId: string;
let ports: { allowed: number; denied: number };
const audits: AuditEvent[] = [];
let revision = 0;

interface Snapshot {
  broken: number;
  rounds: Record<string, number>;
  ready: boolean;
  state: string;
  detail: string;
}

async function snapshot(): Promise<Snapshot> {
  const text = await scrape(port);
  const s = await probeService({ name: 'policy', port });
  const v = canaryOf(s);
  return { broken: metricValue(text, ENFORCEMENT_BROKEN_METRIC), rounds: metricByLabel(text, CANARY_ROUNDS_METRIC, 'outcome'), ready: s.ready, state: v.state, detail: v.detail };
}

const n = (r: Record<string, number>, k: string) => r[k] ?? 0;

/** `sluice status` for real, pointed at this test's policy service (the other four are absent). */
function status(): { code: number | null; canaryLine: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'status'], {
    encoding: 'utf8',
    env: { ...process.env, SLUICE_METRICS_PORT_BASE: String(port - 2), NATS_URL: nats.url },
    timeout: 60_000,
  });
  return { code: r.status, canaryLine: r.stdout.split('\n').find((l) => l.startsWith('canary\t')) ?? `(no canary line) ${r.stdout}${r.stderr}` };
}

async function bpftool(...args: string[]): Promise<string> {
  const r = await run('bpftool', args);
  if (r.code !== 0) throw new Error(`bpftool ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function applyDoc(note: string): Promise<void> {
  revision++;
  const yaml = `version: 1\npolicies:\n  - name: repair-${revision}\n    match: { agent: nobody-${revision} }\n    egress: { allow: [] }\n# ${note}\n`;
  const r = (await operator.request(apiSubject(POLICY_API, 'apply'), JSON.stringify({ yaml, actor: 'canary-kernel-test' }), { timeout: 10_000 })).json<ApiReply>();
  if (!r.ok) throw new Error(JSON.stringify(r.error));
}

/**
 * Breaks enforcement, then waits for the alarm and checks it came by the second round after the
 * break: at most one round (the one in flight when it broke) may still have seen right verdicts.
 */
async function breakAndSeeAlarm(doBreak: () => Promise<void>): Promise<{ attempts: CanaryAttempt[]; event: AuditEvent }> {
  const before = await snapshot();
  expect(before.state).toBe('ok');
  const seen = audits.length;
  await doBreak();
  const after = await waitFor('enforcement_broken', async () => ((await snapshot()).broken === 1 ? snapshot() : undefined), 30_000);
  expect(n(after.rounds, 'ok') - n(before.rounds, 'ok'), 'rounds after the break that still saw right verdicts').toBeLessThanOrEqual(1);
  expect(n(after.rounds, 'error'), 'rounds that could not probe').toBe(n(before.rounds, 'error'));
  expect(after.ready).toBe(false);
  expect(after.state).toBe('broken');
  expect(after.detail).toMatch(/^enforcement_broken: /);
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
  const doctor = await enforcementCanary({ name: 'policy', port });
  expect(doctor).toMatchObject({ ok: false, optional: false });
  const st = status();
  expect(st.code).toBe(1);
  expect(st.canaryLine).toMatch(/^canary\tBROKEN\tenforcement_broken: /);
  const event = await waitFor('enforcement_broken audit event', async () => audits.slice(seen).find((e) => e.kind === CANARY_AUDIT_KINDS.broken));
  expect(event.subject).toMatchObject({ node: NODE, cgroup_id: canaryId });
  return { attempts: (event.detail as { attempts: CanaryAttempt[] }).attempts, event };
}

async function repairAndSeeClear(doRepair: () => Promise<void>): Promise<void> {
  const seen = audits.length;
  await doRepair();
  const s = await waitFor('enforcement restored', async () => {
    const x = await snapshot();
    return x.broken === 0 && x.ready ? x : undefined;
  }, 30_000);
  expect(s.state).toBe('ok');
  expect(await enforcementCanary({ name: 'policy', port })).toMatchObject({ ok: true });
  expect(status().canaryLine).toMatch(/^canary\tok\tverdicts right at /);
  await waitFor('enforcement_restored audit event', async () => audits.slice(seen).find((e) => e.kind === CANARY_AUDIT_KINDS.restored));
}

/**
 * The round that raised the alarm may have straddled the break (one probe before it, one after),
 * so its event names some of the expected deviations and nothing else; the next whole round, as
 * readiness reports it, names exactly all of them.
 */
async function seeDeviations(raised: CanaryAttempt[], expected: string[]): Promise<void> {
  const want = expected.map((e) => e.replace('ALLOWED', String(ports.allowed)).replace('DENIED', String(ports.denied)));
  const got = raised.filter((a) => a.deviation).map((a) => `${a.probe}: ${a.deviation}`);
  expect(got.length).toBeGreaterThan(0);
  for (const g of got) expect(want).toContain(g);
  await waitFor(`a whole round naming ${want.join(' and ')}`, async () => {
    const d = (await snapshot()).detail;
    return d === `enforcement_broken: ${want.join('; ')}` ? true : undefined;
  }, 15_000);
}

beforeAll(async () => {
  await sb.setup();
  nats = await startAccountsNats();
  operator = await nats.connectAs('operator', TEST_PASSWORDS.SLUICE_OPERATOR_PASSWORD);
  operator.subscribe(subjects.auditAll, { callback: (_e: unknown, m: { json: () => unknown }) => void audits.push(AuditEvent.parse(m.json())) });
  await startPolicy();
});

async function startPolicy(): Promise<void> {
  const env: Record<string, string> = { ...(await policyEnv(nats, sb, NODE)), CANARY_INTERVAL_S: String(INTERVAL_S), CANARY_CONNECT_TIMEOUT_MS: '1000', RECONCILE_INTERVAL_S: '3600' };
  port = Number(env['METRICS_PORT']);
  const p = (svc = startService('policy', env));
  const installed = await waitFor('canary installed', async () => {
    if (p.child.exitCode !== null) throw new Error(`policy service exited ${p.child.exitCode}: ${p.stderr()}`);
    const line = p.stderr().split('\n').find((l) => l.includes('enforcement canary installed'));
    return line ? (JSON.parse(line) as { cgroup_id: string; ports: { allowed: number; denied: number } }) : undefined;
  }, 60_000);
  canaryId = installed.cgroup_id;
  ports = installed.ports;
}

afterAll(async () => {
  if (svc) await stopService(svc, 5000);
  if (svc) writeFileSync(join(process.env.SLUICE_RUN_DIR ?? '/tmp', 'canary-kernel-policy.log'), svc.stderr());
  // The program the repair attached by hand (not a pinned link): detach it before the scope goes.
  await run('bpftool', ['cgroup', 'detach', sb.scope, 'cgroup_inet4_connect', 'pinned', join(sb.pin, 'progs', 'sluice_connect4')]);
  await operator?.close();
  await nats?.stop();
  await sb.teardown();
});

describe('the enforcement canary on the real kernel', () => {
  it('healthy: its entry and loopback-off policy are in the maps, every verdict is right, the service is ready', async () => {
    expect(canaryId).toBe(String(statSync(join(sb.scope, 'canary')).ino));
    const entry = (await sb.dump<{ cgroup_id: string; policy_id: number; mode: string }>('cgroup_policy')).find((e) => e.cgroup_id === canaryId);
    expect(entry?.mode).toBe('enforce');
    expect((await sb.dump<{ policy_id: number; loopback: boolean }>('policies')).find((p) => p.policy_id === entry!.policy_id)).toEqual({ policy_id: entry!.policy_id, loopback: false });
    const rules = (await sb.dump<{ policy_id: number; cidr: string; ranges: { lo: number; hi: number }[] }>('rules')).filter((r) => r.policy_id === entry!.policy_id);
    expect(rules.map((r) => [r.cidr, r.ranges.map((x) => [x.lo, x.hi])])).toEqual([['127.0.0.1/32', [[ports.allowed, ports.allowed]]]]);
    // The default probe's cgroup has no entry: it runs under the default.
    const defaultId = String(statSync(join(sb.scope, 'canary-default')).ino);
    expect((await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === defaultId)).toBe(false);

    const s = await waitFor('canary ok', async () => {
      const x = await snapshot();
      return x.state === 'ok' && x.ready ? x : undefined;
    }, 30_000);
    expect(s.broken).toBe(0);
    expect(n(s.rounds, 'deviated')).toBe(0);
    expect(n(s.rounds, 'error')).toBe(0);
    expect(await enforcementCanary({ name: 'policy', port })).toMatchObject({ ok: true, name: 'enforcement canary' });
    expect(status().canaryLine).toMatch(/^canary\tok\tverdicts right at /);
    // Precondition: the denied listener is up and reachable from outside the scope, so the canary's
    // EPERM there is the kernel's decision, not a dead port.
    await new Promise<void>((resolve, reject) => {
      const c = createConnection({ host: '127.0.0.1', port: ports.denied }, () => {
        c.destroy();
        resolve();
      });
      c.once('error', reject);
    });
  });

  const link = () => {
    const dir = join(sb.pin, 'links', String(statSync(sb.scope).ino));
    const name = readdirSync(dir).find((f) => f === 'sluice_connect4');
    if (!name) throw new Error(`no connect4 link pinned in ${dir}`);
    return join(dir, name);
  };

  it('connect4 detached from the scope (bpftool link detach): the denied connects get through, the alarm is raised', async () => {
    const { attempts } = await breakAndSeeAlarm(() => bpftool('link', 'detach', 'pinned', link()).then(() => undefined));
    await seeDeviations(attempts, ['canary: denied destination 127.0.0.1:DENIED was reachable', 'default: denied destination 127.0.0.1:ALLOWED was reachable']);
  });

  it('connect4 attached again: the alarm clears', async () => {
    await repairAndSeeClear(() => bpftool('cgroup', 'attach', sb.scope, 'cgroup_inet4_connect', 'pinned', join(sb.pin, 'progs', 'sluice_connect4'), 'multi').then(() => undefined));
  });

  it("the canary cgroup's entry deleted from the pinned map: its allowed connect meets the default deny; the next sync repairs it", async () => {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(BigInt(canaryId));
    const keyArgs = [...key].map(String);
    const { attempts } = await breakAndSeeAlarm(() => bpftool('map', 'delete', 'pinned', join(sb.pin, 'cgroup_policy'), 'key', ...keyArgs).then(() => undefined));
    await seeDeviations(attempts, ['canary: allowed destination 127.0.0.1:ALLOWED failed (EPERM)']);
    // Any sync re-installs what the service wants in the maps: a policy apply triggers one.
    await repairAndSeeClear(() => applyDoc('repair the canary entry'));
    expect((await sb.dump<{ cgroup_id: string }>('cgroup_policy')).some((e) => e.cgroup_id === canaryId)).toBe(true);
  });

  it('the default flipped to learn behind the service: the default probe reaches the listener; the next sync repairs it', async () => {
    const config = join(sb.pin, 'config');
    const cur = JSON.parse(await bpftool('-j', 'map', 'lookup', 'pinned', config, 'key', '0', '0', '0', '0')) as { value: string[] };
    const value = cur.value.map((b) => Number(b));
    expect(value[4]).toBe(0); // enforce
    value[4] = 1; // SLUICE_MODE_LEARN (bpf/record.h)
    const { attempts } = await breakAndSeeAlarm(() =>
      bpftool('map', 'update', 'pinned', config, 'key', '0', '0', '0', '0', 'value', ...value.map(String)).then(() => undefined),
    );
    await seeDeviations(attempts, ['default: denied destination 127.0.0.1:ALLOWED was reachable']);
    await repairAndSeeClear(() => applyDoc('repair the default'));
    expect((await sb.dump<{ default_mode: string }>('config'))[0]?.default_mode).toBe('enforce');
  });

  it('a detached pinned link is replaced when the policy service starts again (sluice-bpf attach no longer keeps a defunct pin)', async () => {
    await stopService(svc, 5000);
    const scopeId = String(statSync(sb.scope).ino);
    // The program attached by hand (an earlier repair) goes, then the pinned link is detached:
    // nothing enforces connect4 on the scope.
    await run('bpftool', ['cgroup', 'detach', sb.scope, 'cgroup_inet4_connect', 'pinned', join(sb.pin, 'progs', 'sluice_connect4')]);
    await bpftool('link', 'detach', 'pinned', link());
    const connect4 = async () => (await sb.dump<{ cgroup_id: string; program: string; attached_cgroup_id: string }>('links')).find((l) => l.cgroup_id === scopeId && l.program === 'sluice_connect4');
    expect((await connect4())?.attached_cgroup_id).toBe('0');
    const allowedBefore = ports.allowed;
    await startPolicy();
    expect((await connect4())?.attached_cgroup_id).toBe(scopeId);
    expect(ports.allowed, 'the restart listens on the allowed port its canary policy names').toBe(allowedBefore);
    const s = await waitFor('canary ok after restart', async () => {
      const x = await snapshot();
      return x.state === 'ok' && x.ready ? x : undefined;
    }, 30_000);
    expect(n(s.rounds, 'deviated')).toBe(0);
  }, 120_000);
});
