// An agent must not switch enforcement off from the inside: detach the cgroup programs, delete or
// rewrite its own cgroup's entry, or flip the node's default to learn (issue #14's trust model; the
// canary watches for the same breakage done by a privileged hand). Each attack runs as the agent
// runs: uid 65534, inside the managed scope, with Docker's default capabilities or none, using the
// real tool an attacker would reach for (bpftool), by pin path and by object id. The test FAILS IF
// AN ATTACK SUCCEEDS: the tool exits 0, a link is gone, the entry changed, or, the proof that
// counts, the agent's denied connect stops being refused.
//
// The control is the very same bpftool call as root (the last test): it detaches the link and the
// same denied connect gets through, so the attacks above were real and the check is sensitive.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, jsonLines, run } from '../kernel/exec.ts';
import { Sandbox, type Cgroup } from '../kernel/sandbox.ts';
import { CAP_SETS, inCgroup, setprivArgv, type Caps, type Op } from './agent.ts';

const sb = new Sandbox('bypass-tamper');
const cg: Partial<Record<Caps, Cgroup>> = {};
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
  for (const c of CAP_SETS) cg[c] = sb.cgroup(c);
  await sb.apply(['policy 73', ...CAP_SETS.map((c) => `cgroup ${cg[c]!.path} 73 enforce`)]);
  const cur = await run('bpftool', ['-j', 'map', 'lookup', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0']);
  if (cur.code !== 0) throw new Error(`bpftool map lookup config failed: ${cur.stderr}`);
  learnConfig = (JSON.parse(cur.stdout) as { value: string[] }).value.map((b) => String(Number(b)));
  learnConfig[4] = '1'; // SLUICE_MODE_LEARN (bpf/record.h)
}, 60_000);

afterAll(async () => {
  await sb.teardown();
});

const scopeId = () => String(statSync(sb.scope).ino);
const linkDir = () => join(sb.pin, 'links', scopeId());
const connect4Link = async () => (await sb.dump<LinkRow>('links')).find((l) => l.cgroup_id === scopeId() && l.program === 'sluice_connect4');
const entries = async () => (await sb.dump<EntryRow>('cgroup_policy')).map((e) => `${e.cgroup_id}:${e.policy_id}:${e.mode}`).sort();

/** The agent's connect to the denied destination, as the agent. */
async function agentConnect(caps: Caps): Promise<Op> {
  const argv = inCgroup(cg[caps]!.path, [...setprivArgv(caps), PROBE, 'connect', ...DENIED]);
  const r = await run(argv[0]!, argv.slice(1));
  const op = jsonLines<Op>(r.stdout)[0];
  if (!op) throw new Error(`probe printed nothing (${r.code}): ${r.stderr}`);
  return op;
}

/** bpftool as the agent: uid 65534 in its cgroup with `caps`. */
function asAgent(caps: Caps, args: string[]) {
  const argv = inCgroup(cg[caps]!.path, [...setprivArgv(caps), 'bpftool', ...args]);
  return run(argv[0]!, argv.slice(1));
}

function u64le(v: bigint): string[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...b].map(String);
}

describe.each(CAP_SETS)('an agent with %s capabilities cannot switch enforcement off', (caps: Caps) => {
  it('precondition: its connect to the denied destination is refused by Sluice (EPERM)', async () => {
    const op = await agentConnect(caps);
    expect(op.ok).toBe(false);
    expect(op.errno).toBe(EPERM);
  });

  const attacks = (): Array<{ what: string; args: string[] }> => {
    const link = join(linkDir(), 'sluice_connect4');
    const key = u64le(cg[caps]!.id);
    return [
      { what: 'detach the connect4 link by its pin', args: ['link', 'detach', 'pinned', link] },
      { what: 'detach the connect4 program from the scope', args: ['cgroup', 'detach', sb.scope, 'cgroup_inet4_connect', 'pinned', join(sb.pin, 'progs', 'sluice_connect4')] },
      { what: 'delete its own cgroup entry', args: ['map', 'delete', 'pinned', join(sb.pin, 'cgroup_policy'), 'key', ...key] },
      { what: 'flip the default to learn', args: ['map', 'update', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0', 'value', ...learnConfig] },
    ];
  };

  it('by pin path: every bpftool call fails and nothing changes', async () => {
    const linksBefore = readdirSync(linkDir()).sort();
    const entriesBefore = await entries();
    for (const a of attacks()) {
      const r = await asAgent(caps, a.args);
      expect(r.code, `${a.what} succeeded: ${r.stdout}${r.stderr}`).not.toBe(0);
      // What stopped it, for the log: EPERM from bpf() itself (unprivileged_bpf_disabled) or EACCES
      // on the 0700 pin directory (if an operator re-enabled unprivileged BPF).
      console.log(`${caps}: ${a.what}: refused: ${r.stderr.trim().split('\n').at(-1)}`);
    }
    expect(readdirSync(linkDir()).sort()).toEqual(linksBefore);
    expect((await connect4Link())?.attached_cgroup_id, 'the connect4 link is still attached to the scope').toBe(scopeId());
    expect(await entries()).toEqual(entriesBefore);
    const op = await agentConnect(caps);
    expect(op.errno, 'the denied connect got through after the attacks').toBe(EPERM);
  });

  it('by object id (no path needed): link and map ids are refused too', async () => {
    const link = await connect4Link();
    expect(link, 'precondition: the connect4 link exists').toBeDefined();
    const maps = await run('bpftool', ['-j', 'map', 'show']);
    const policyMap = (JSON.parse(maps.stdout) as Array<{ id: number; name: string }>).find((m) => m.name === 'cgroup_policy');
    expect(policyMap, 'precondition: root sees the cgroup_policy map id').toBeDefined();
    for (const args of [
      ['link', 'detach', 'id', String(link!.link_id)],
      ['map', 'delete', 'id', String(policyMap!.id), 'key', ...u64le(cg[caps]!.id)],
      ['link', 'show'],
    ]) {
      const r = await asAgent(caps, args);
      expect(r.code, `bpftool ${args.join(' ')} succeeded as the agent: ${r.stdout}`).not.toBe(0);
    }
    expect((await connect4Link())?.attached_cgroup_id).toBe(scopeId());
    expect((await agentConnect(caps)).errno).toBe(EPERM);
  });
});

describe('control', () => {
  it('the config write the agents tried is well-formed: root may write it (written back unchanged here)', async () => {
    const cur = await run('bpftool', ['-j', 'map', 'lookup', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0']);
    const value = (JSON.parse(cur.stdout) as { value: string[] }).value.map((b) => String(Number(b)));
    expect(value[4], 'the default is still enforce').toBe('0');
    const r = await run('bpftool', ['map', 'update', 'pinned', join(sb.pin, 'config'), 'key', '0', '0', '0', '0', 'value', ...value]);
    expect(r.code, r.stderr).toBe(0);
    expect(learnConfig.length).toBe(value.length);
  });

  it('the same link detach as root works, and the denied connect then gets through: the attacks were real', async () => {
    const r = await run('bpftool', ['link', 'detach', 'pinned', join(linkDir(), 'sluice_connect4')]);
    expect(r.code, r.stderr).toBe(0);
    expect((await connect4Link())?.attached_cgroup_id).toBe('0');
    const op = await agentConnect('none');
    expect(op.errno, 'with the link detached the connect is no longer refused by Sluice').not.toBe(EPERM);
  });
});
