// An agent must not switch enforcement off from the inside: detach the cgroup programs, delete or
// rewrite its own cgroup's entry, flip the node's default to learn, or drop a link's pin (the last
// reference to a link going away detaches it, no bpf() needed) (issue #14's trust model; the canary
// watches for the same breakage done by a privileged hand). Each attack runs as the agent runs:
// inside the managed scope, as uid 65534 with Docker's default capabilities or none, or as the
// root `sluice run` leaves when there is no --user/sudo caller, using the tools an attacker would
// reach for (bpftool, rm), by pin path and by object id. The test FAILS IF AN ATTACK SUCCEEDS: the
// tool exits 0, a link is gone, the entry changed, or, the proof that counts, the agent's denied
// connect stops being refused.
//
// Two layers, each tested on its own:
//   - the kernel's tamper guard (bpf/tamper.bpf.c, BPF LSM): refuses bpf() and bpffs unlink/rename
//     to any task of the scope, however it was started (a container with seccomp=unconfined and a
//     bpffs mount, a command in the host's mount namespace). Each refusal is a DENIED record, kind
//     bpf, reason bpf_syscall. Where the kernel cannot host it, load says so and these tests say
//     why they did not run;
//   - the launch path (`sluice-bpf nobpf`, wired in agent-argv.ts for `sluice run` and the canary):
//     no bpffs in the agent's mount namespace and a seccomp filter refusing bpf(). On every kernel.
//
// The control is the very same bpftool call as root outside the scope (the last test): it detaches
// the link and the same denied connect gets through, so the attacks were real and the check is
// sensitive; and the guard leaves root outside the scope alone.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentArgv } from '@sluice/runtime';
import { HELPER, PROBE, jsonLines, run, until } from '../kernel/exec.ts';
import type { RecordStream } from '../kernel/record-stream.ts';
import { Sandbox, type Cgroup } from '../kernel/sandbox.ts';
import { CAP_SETS, inCgroup, setprivArgv, type Caps, type Op } from './agent.ts';

const sb = new Sandbox('bypass-tamper');
let stream: RecordStream;
type Who = Caps | 'root';
const cg: Partial<Record<Who, Cgroup>> = {};
// Nothing listens here: outside enforcement a connect is refused by the stack (ECONNREFUSED), inside
// it is refused by Sluice (EPERM). The errno tells the two apart.
const DENIED = ['127.0.0.1', '9'];
const EPERM = 1;
// The node config's current value with the mode byte set to learn: a well-formed write (root's
// control below shows bpftool accepts it), so a refusal is the kernel's, not a malformed value.
let learnConfig: string[] = [];

interface LinkRow {
  link_id: number;
  cgroup_id: string;
  program: string;
  attached_cgroup_id: string;
}
interface EntryRow {
  cgroup_id: string;
  policy_id: number;
  mode: string;
}

beforeAll(async () => {
  await sb.setup();
  stream = sb.stream();
  for (const c of [...CAP_SETS, 'root' as const]) cg[c] = sb.cgroup(c);
  await sb.apply(['policy 73', ...Object.values(cg).map((c) => `cgroup ${c.path} 73 enforce`)]);
  const cur = await run('bpftool', ['-j', 'map', 'lookup', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0']);
  if (cur.code !== 0) throw new Error(`bpftool map lookup config failed: ${cur.stderr}`);
  learnConfig = (JSON.parse(cur.stdout) as { value: string[] }).value.map((b) => String(Number(b)));
  learnConfig[4] = '1'; // SLUICE_MODE_LEARN (bpf/record.h)
}, 60_000);

afterAll(async () => {
  await sb.teardown();
});

// A failed test must not take the next ones down with it: a detached or unpinned link is replaced
// (attach is idempotent and replaces detached links), so each test starts enforced.
afterEach(async () => {
  const r = await sb.helper(['attach', sb.scope]);
  if (r.code !== 0) throw new Error(`re-attach failed: ${r.stderr}`);
});

const scopeId = () => String(statSync(sb.scope).ino);
const linkDir = () => join(sb.pin, 'links', scopeId());
const connect4Link = async () => (await sb.dump<LinkRow>('links')).find((l) => l.cgroup_id === scopeId() && l.program === 'sluice_connect4');
const entries = async () => (await sb.dump<EntryRow>('cgroup_policy')).map((e) => `${e.cgroup_id}:${e.policy_id}:${e.mode}`).sort();
const guardAttached = () => sb.loaded.tamper_guard === 'attached' || sb.loaded.tamper_guard === 'attached_unverified';

/** How an agent is started: bare (only the kernel guard between it and the pins), or as `sluice run` starts it. */
type Launch = 'bare' | 'sluice-run';

/** argv of `command` as `who`, inside its cgroup, launched `how`. */
function agentCommand(who: Who, how: Launch, command: string[]): string[] {
  if (who === 'root') {
    // Exactly what `sluice run` does without --user or a sudo caller (cli/src/commands/run.ts).
    return inCgroup(cg.root!.path, agentArgv(command, undefined, how === 'sluice-run' ? { nobpf: HELPER } : {}));
  }
  const priv = [...setprivArgv(who), ...command];
  return inCgroup(cg[who]!.path, how === 'sluice-run' ? [HELPER, 'nobpf', '--', ...priv] : priv);
}

function asAgent(who: Who, how: Launch, command: string[]) {
  const argv = agentCommand(who, how, command);
  return run(argv[0]!, argv.slice(1));
}

/** The agent's connect to the denied destination. */
async function agentConnect(who: Who, how: Launch): Promise<Op> {
  const r = await asAgent(who, how, [PROBE, 'connect', ...DENIED]);
  const op = jsonLines<Op>(r.stdout)[0];
  if (!op) throw new Error(`probe printed nothing (${r.code}): ${r.stderr}`);
  return op;
}

function u64le(v: bigint): string[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...b].map(String);
}

const attacks = (who: Who): Array<{ what: string; argv: string[] }> => {
  const link = join(linkDir(), 'sluice_connect4');
  const key = u64le(cg[who]!.id);
  return [
    { what: 'detach the connect4 link by its pin', argv: ['bpftool', 'link', 'detach', 'pinned', link] },
    { what: 'detach the connect4 program from the scope', argv: ['bpftool', 'cgroup', 'detach', sb.scope, 'cgroup_inet4_connect', 'pinned', join(sb.pin, 'progs', 'sluice_connect4')] },
    { what: 'delete its own cgroup entry', argv: ['bpftool', 'map', 'delete', 'pinned', join(sb.pin, 'cgroup_policy'), 'key', ...key] },
    { what: 'flip the default to learn', argv: ['bpftool', 'map', 'update', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0', 'value', ...learnConfig] },
    { what: "unlink the connect4 link's pin (its last reference: detaches it)", argv: ['rm', link] },
  ];
};

function attackSuite(who: Who, how: Launch): void {
  // Decided once load has run (collection comes before beforeAll): the bare suites need the guard,
  // and the first test of the file printed why it is absent.
  const needs = (ctx: { skip: () => void }) => {
    if (how === 'bare' && !guardAttached()) ctx.skip();
  };

  it('precondition: its connect to the denied destination is refused by Sluice (EPERM)', async (ctx) => {
    needs(ctx);
    const op = await agentConnect(who, how);
    expect(op.ok).toBe(false);
    expect(op.errno).toBe(EPERM);
  });

  it('by pin path: every attack fails and nothing changes', async (ctx) => {
    needs(ctx);
    const deniedBefore = ((await sb.stats()).counters as Record<string, number>).bpf_denied ?? 0;
    const linksBefore = readdirSync(linkDir()).sort();
    const entriesBefore = await entries();
    const since = stream.records.length;
    for (const a of attacks(who)) {
      const r = await asAgent(who, how, a.argv);
      expect(r.code, `${a.what} succeeded: ${r.stdout}${r.stderr}`).not.toBe(0);
      console.log(`${who} (${how}): ${a.what}: refused: ${r.stderr.trim().split('\n').at(-1)}`);
    }
    expect(readdirSync(linkDir()).sort()).toEqual(linksBefore);
    expect((await connect4Link())?.attached_cgroup_id, 'the connect4 link is still attached to the scope').toBe(scopeId());
    expect(await entries()).toEqual(entriesBefore);
    expect((await agentConnect(who, how)).errno, 'the denied connect got through after the attacks').toBe(EPERM);
    if (how === 'bare') {
      // The guard refused them, so it said so: DENIED, kind bpf, reason bpf_syscall, from this
      // cgroup, for the bpf() calls and for the unlink.
      const id = cg[who]!.id;
      const mine = () => stream.records.slice(since).filter((r) => r.kind === 'bpf' && r.cgroupId === id);
      await until(() => mine().some((r) => r.kind === 'bpf' && r.bpf?.cmd === 0x10000), 5000, 'the unlink refusal record');
      for (const r of mine()) expect(r).toMatchObject({ kind: 'bpf', verdict: 'DENIED', reason: 'bpf_syscall', policyId: 73 });
      expect(mine().some((r) => r.kind === 'bpf' && r.bpf?.cmd === 7), 'a BPF_OBJ_GET refusal').toBe(true);
      expect(((await sb.stats()).counters as Record<string, number>).bpf_denied, 'counted (bpf_denied)').toBeGreaterThanOrEqual(deniedBefore + attacks(who).length);
    }
  });

  it('by object id (no path needed): link and map ids are refused too', async (ctx) => {
    needs(ctx);
    const link = await connect4Link();
    expect(link, 'precondition: the connect4 link exists').toBeDefined();
    const maps = await run('bpftool', ['-j', 'map', 'show']);
    const policyMap = (JSON.parse(maps.stdout) as Array<{ id: number; name: string }>).find((m) => m.name === 'cgroup_policy');
    expect(policyMap, 'precondition: root sees the cgroup_policy map id').toBeDefined();
    for (const args of [
      ['link', 'detach', 'id', String(link!.link_id)],
      ['map', 'delete', 'id', String(policyMap!.id), 'key', ...u64le(cg[who]!.id)],
      ['link', 'show'],
    ]) {
      const r = await asAgent(who, how, ['bpftool', ...args]);
      expect(r.code, `bpftool ${args.join(' ')} succeeded as the agent: ${r.stdout}`).not.toBe(0);
    }
    expect((await connect4Link())?.attached_cgroup_id).toBe(scopeId());
    expect((await agentConnect(who, how)).errno).toBe(EPERM);
  });
}

describe('the tamper guard is reported', () => {
  it('load says whether it is in force, and loudly why not', async () => {
    expect(['attached', 'attached_unverified', 'absent']).toContain(sb.loaded.tamper_guard);
    if (!guardAttached()) {
      expect(sb.loaded.stderr).toMatch(/TAMPER GUARD ABSENT: .*file permissions and seccomp/);
      const f = jsonLines<{ feature: string; ok: boolean; optional: boolean; detail: string }>((await run(HELPER, ['features'])).stdout);
      expect(f.filter((l) => l.optional && !l.ok).map((l) => l.feature), 'features names what is missing').not.toEqual([]);
      console.warn(`tamper guard absent on this kernel, the bare-agent suites below do not run: ${sb.loaded.stderr.trim()}`);
    }
  });
});

for (const who of [...CAP_SETS, 'root' as const]) {
  describe(`kernel guard: a bare agent (${who}) cannot switch enforcement off`, () => attackSuite(who, 'bare'));
  describe(`sluice run: an agent (${who}) cannot switch enforcement off`, () => attackSuite(who, 'sluice-run'));
}

describe('control', () => {
  it('the config write the agents tried is well-formed: root may write it (written back unchanged here)', async () => {
    const cur = await run('bpftool', ['-j', 'map', 'lookup', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0']);
    const value = (JSON.parse(cur.stdout) as { value: string[] }).value.map((b) => String(Number(b)));
    expect(value[4], 'the default is still enforce').toBe('0');
    const r = await run('bpftool', ['map', 'update', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0', 'value', ...value]);
    expect(r.code, r.stderr).toBe(0);
    expect(learnConfig.length).toBe(value.length);
  });

  it('the same link detach as root outside the scope works, and the denied connect then gets through: the attacks were real', async () => {
    const r = await run('bpftool', ['link', 'detach', 'pinned', join(linkDir(), 'sluice_connect4')]);
    expect(r.code, r.stderr).toBe(0);
    expect((await connect4Link())?.attached_cgroup_id).toBe('0');
    const op = await agentConnect('none', 'bare');
    expect(op.errno, 'with the link detached the connect is no longer refused by Sluice').not.toBe(EPERM);
  });
});
