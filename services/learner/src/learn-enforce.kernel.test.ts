// Issue 8 "Must show" on the real kernel: a cgroup in learn mode reaches several destinations; the
// kernel's records go through the attributor's own rendering (enrich.ts) into SLUICE_EVENTS, the
// learner (a real child process) proposes the diff, `accept --enforce` goes through the policy
// API's real handler, the new revision is compiled and planned by the policy service's code and
// applied by sluice-bpf — and then exactly the learned destinations connect, a new one is denied.
//
// Destinations are IP literals on loopback. Learning by name, with Docker's resolver, through the
// whole pipeline and a labelled container: test/e2e/learn-docker.e2e.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { decodeKernelRecord, KERNEL_RECORD_SIZE, parsePolicy, STREAMS, type PolicyDocument } from '@sluice/contracts';
import { createLogger, ensureKv, ensureStream } from '@sluice/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { learnerHarness, type LearnerHarness } from '@sluice/testkit';
import { acceptLearned } from '../../../cli/src/commands/learn-accept.ts';
import { HELPER, probe, sleep, until, type ProbeResult } from '../../../test/kernel/exec.ts';
import { listeners } from '../../../test/kernel/net.ts';
import { Sandbox, type Cgroup } from '../../../test/kernel/sandbox.ts';
import { decodeBatch } from '../../attributor/src/decode.ts';
import { renderBatch } from '../../attributor/src/render.ts';
import { makeEntry } from '../../attributor/src/identity.ts';
import { kernelCodec } from '../../attributor/src/kernel-adapter.ts';
import { PolicyApi } from '../../policy/src/api.ts';
import { compile, type PolicyIdTable } from '../../policy/src/compile.ts';
import { applyOp, emptyState, formatOp, type MapState } from '../../policy/src/model.ts';
import { planBatches } from '../../policy/src/plan.ts';
import { auditPublisher, servePolicyApi } from '../../policy/src/server.ts';
import { PolicyStore } from '../../policy/src/store.ts';

const sb = new Sandbox('learner');
const net = listeners();
let cg: Cgroup;
let h: LearnerHarness;
let store: PolicyStore;
let sub: Subscription;
let raw: ChildProcess;
let frames = Buffer.alloc(0);
const policyPrefix = `learnk.${process.pid}.api.policy`;
const ports: Record<string, number> = {};

// The maps as this test has written them, so each revision is applied as a windowless plan.
let actual: MapState = emptyState();
let ids: PolicyIdTable | undefined;

beforeAll(async () => {
  await sb.setup();
  cg = sb.cgroup('agent');
  ports.a = await net.tcp('127.0.0.2');
  ports.b1 = await net.tcp('127.0.0.3');
  ports.b2 = await net.tcp('127.0.0.3');
  ports.c = await net.tcp('127.0.0.4');
  ports.d = await net.tcp('127.0.0.5');
  raw = spawn(HELPER, ['--pin', sb.pin, 'stream', '--counters-ms', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  raw.stdout!.on('data', (d: Buffer) => (frames = Buffer.concat([frames, d])));

  h = await learnerHarness('kernel', { LEARNER_POLICY_API: policyPrefix });
  await ensureStream(h.jsm, STREAMS.control, createLogger('test', 'silent'));
  store = new PolicyStore(await ensureKv(h.nc, `learnk-policy-${process.pid}`, 64));
  const api = new PolicyApi({ store, audit: auditPublisher(jetstream(h.nc)) });
  sub = servePolicyApi(h.nc, api, createLogger('test', 'silent'), undefined, policyPrefix);
  await h.spawn();
});

afterAll(async () => {
  raw?.kill('SIGKILL');
  sub?.unsubscribe();
  await store?.kv.destroy().catch(() => undefined);
  await h?.close();
  await sb.teardown();
  await net.close();
});

async function sync(doc: PolicyDocument): Promise<void> {
  const c = compile({
    document: doc,
    ...(ids ? { previous: ids } : {}),
    present: [...actual.policies.keys(), ...actual.written.keys()],
    workloads: [{ cgroup_id: String(cg.id), project: h.project, agent: 'bot' }],
  });
  for (const batch of planBatches(actual, c.state)) {
    await sb.apply(batch.map(formatOp));
    for (const op of batch) applyOp(actual, op);
  }
  ids = c.ids;
}

async function current(): Promise<PolicyDocument> {
  const rev = (await store.current())!;
  const r = parsePolicy(rev.yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.document;
}

const connect = async (ip: string, port: number): Promise<ProbeResult> => (await probe(cg.path, 'connect', ip, port))[0]!;

/** Egress frames of our cgroup seen so far, as raw 256-byte records. */
function egressFrames(cookies: Set<string>): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o + KERNEL_RECORD_SIZE <= frames.length; o += KERNEL_RECORD_SIZE) {
    const r = decodeKernelRecord(frames, o);
    if (r.kind === 'counters' || r.kind === 'dns') continue;
    if (r.cgroupId === cg.id && cookies.has(String(r.socketCookie))) out.push(Buffer.from(frames.subarray(o, o + KERNEL_RECORD_SIZE)));
  }
  return out;
}

/** What the bpf-reader + attributor do with those frames, using the attributor's own code. */
async function publishAsAttributor(body: Buffer, count: number): Promise<void> {
  const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const wallOffsetNs = BigInt(Date.now()) * 1_000_000n - BigInt(Math.round(uptimeS * 1e9));
  const meta = { node: 'learnk', bootId: `b${process.pid}`, firstSeq: 1, count, wallOffsetNs };
  const entry = makeEntry({ attribution: 'registered', node: 'learnk', cgroup_id: String(cg.id), project: h.project, agent: 'bot', ips: [], started_ms: 0, can_bypass_raw: false });
  const rendered = renderBatch(decodeBatch(meta, body, kernelCodec), () => entry, 1 << 20);
  const js = jetstream(h.nc);
  for (const m of rendered.messages) await js.publish(m.subject, m.data, { msgID: m.msgId });
}

describe('learn → accept → enforce on the real kernel', () => {
  it('allows exactly what was learned, and denies a new destination', async () => {
    const initial = `version: 1
policies:
  - name: agents
    match: { project: ${JSON.stringify(h.project)} }
    mode: learn
    loopback: false
    egress:
      allow:
        - { cidr: 127.0.0.2/32, ports: [${ports.a}] }
`;
    const applied = JSON.parse((await h.nc.request(`${policyPrefix}.apply`, JSON.stringify({ yaml: initial, actor: 'test' }), { timeout: 10_000 })).string());
    expect(applied.ok, JSON.stringify(applied)).toBe(true);
    await sync(await current());

    expect((await h.request('start', { project: h.project, actor: 'test' })).ok).toBe(true);
    await sleep(100); // /proc/uptime has 10 ms resolution: keep record times clearly after the start

    const learnPhase = [
      await connect('127.0.0.2', ports.a!),
      await connect('127.0.0.3', ports.b1!),
      await connect('127.0.0.3', ports.b2!),
      await connect('127.0.0.4', ports.c!),
    ];
    expect(learnPhase.map((r) => r.ok)).toEqual([true, true, true, true]); // learn mode lets all through
    const cookies = new Set(learnPhase.map((r) => r.cookie));
    const got = await until(() => {
      const f = egressFrames(cookies);
      const seen = new Set(f.map((b) => String(decodeKernelRecord(b, 0).socketCookie)));
      return seen.size === cookies.size ? f : undefined;
    }, 10_000, 'kernel records for every learn-phase connect');
    await publishAsAttributor(Buffer.concat(got), got.length);
    await h.drained();

    const diff = await h.request('diff', { project: h.project });
    expect(diff.ok, JSON.stringify(diff.error)).toBe(true);
    const proposal = parse(diff.result.yaml);
    expect(proposal.add.map((a: any) => [a.cidr, a.ports, a.note])).toEqual([
      ['127.0.0.3/32', [ports.b1, ports.b2].sort((x, y) => x! - y!), 'no DNS name seen'],
      ['127.0.0.4/32', [ports.c], 'no DNS name seen'],
    ]);
    expect(proposal.prune).toEqual([]); // the existing rule was used (reason "rule" records)

    const accepted = await acceptLearned(h.nc, { project: h.project, actor: 'test', enforce: true, wildcards: [], policyApi: policyPrefix, timeoutMs: 10_000 });
    expect(accepted).toMatchObject({ changed: true, policy: 'agents' });
    expect(accepted.warning).toBeUndefined();
    const doc = await current();
    expect(doc.policies[0]!.mode).toBe('enforce');
    await sync(doc);

    const enforcePhase = {
      ruleA: await connect('127.0.0.2', ports.a!),
      learnedB1: await connect('127.0.0.3', ports.b1!),
      learnedB2: await connect('127.0.0.3', ports.b2!),
      learnedC: await connect('127.0.0.4', ports.c!),
      newHost: await connect('127.0.0.5', ports.d!),
      newPortOnLearnedHost: await connect('127.0.0.4', ports.b1!),
    };
    expect(Object.fromEntries(Object.entries(enforcePhase).map(([k, r]) => [k, r.ok ? 'ok' : r.error]))).toEqual({
      ruleA: 'ok',
      learnedB1: 'ok',
      learnedB2: 'ok',
      learnedC: 'ok',
      newHost: 'EPERM',
      newPortOnLearnedHost: 'EPERM',
    });
  });
});
