// sluice run [--project P --agent A] [--learn] [--policy FILE] -- <cmd>: the command in a fresh
// cgroup under the managed scope, enforced from its first instruction, its egress attributed to
// P/A, counted live on stderr and summarised at exit. The command's own stdout/stderr pass through
// untouched; the attempts table goes to stderr, the --learn diff (YAML) to stdout.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EgressEvent, IDENTITY_API, POLICY_API, subjects } from '@sluice/contracts';
import { request, RpcError } from '@sluice/runtime';
import { out, say, UsageError, type Command } from '../command.ts';
import { ensurePipeline, localNode } from '../local/ensure.ts';
import { instance } from '../local/instance.ts';
import { HELPER } from '../local/paths.ts';
import { Attempts, formatAttempts } from '../run/attempts.ts';
import { createRunCgroup, inCgroupArgv, removeRunCgroup, type RunCgroup } from '../run/cgroup.ts';
import { waitForEntry } from '../run/kernel-entry.ts';
import { agentArgv, readPasswd, resolveRunAs, type RunAs } from '../run/privileges.ts';
import { withRunPolicy } from '../run/policy.ts';
import { drain } from '../run/drain.ts';
import { Phases } from '../run/phases.ts';
import { learnWhile } from './learn-run.ts';
import { cliNatsServers } from '../nats-servers.ts';

const SCOPE = instance.scopes[0]!;
const PIN = instance.pinDir;

export const run: Command = {
  name: 'run',
  summary: 'run a command in a fresh enforced cgroup and report every egress attempt it made',
  usage: 'run [--project P] [--agent A] [--learn] [--policy FILE] [--user NAME|UID] [--opensearch] [--timings] -- <command> [args…]',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        project: { type: 'string', default: 'local' },
        agent: { type: 'string' },
        learn: { type: 'boolean', default: false },
        policy: { type: 'string' },
        user: { type: 'string' },
        opensearch: { type: 'boolean', default: false },
        actor: { type: 'string', default: process.env.SLUICE_ACTOR ?? 'sluice-run' },
        'timeout-ms': { type: 'string', default: '30000' },
        timings: { type: 'boolean', default: false },
      },
    });
    if (positionals.length === 0) throw new UsageError('run needs a command after --, e.g. sluice run -- curl https://example.com');
    const sel = { project: values.project, agent: values.agent ?? basename(positionals[0]!) };
    const timeoutMs = Number(values['timeout-ms']);
    const policyYaml = values.policy !== undefined ? readPolicy(values.policy) : undefined;
    // As an agent should run: the sudo caller (or --user), without the capabilities to leave or
    // blind enforcement, no_new_privs (cli/src/run/privileges.ts).
    const runAs = resolveRunAs(values.user, process.env, readPasswd());
    const phases = new Phases();
    phases.mark('boot');

    const state = await ensurePipeline({ opensearch: values.opensearch, docker: false, timeoutMs: 120_000, quiet: true, reuse: true });
    if (!state.ok) return 1;
    phases.mark('pipeline');
    const nc = await connect({ servers: cliNatsServers(state.endpoints.NATS_URL ?? instance.natsUrl) });
    phases.mark('nats');
    const cg = createRunCgroup(SCOPE, `run-${process.pid}-${Date.now().toString(36)}`);
    phases.mark('cgroup');
    try {
      // The registration and the read of the current policy are independent: one round trip, not two.
      const [, current] = await Promise.all([
        request(nc, IDENTITY_API, 'register', { node: localNode(), cgroup_path: cg.relative, ...sel }, { timeoutMs }),
        currentPolicy(nc, timeoutMs),
      ]);
      phases.mark('identity');
      const mode = await applyPolicy(nc, sel, current, policyYaml, values.policy, values.actor, timeoutMs);
      phases.mark('policy');
      await waitForEntry(HELPER, PIN, cg.id, (e) => mode === undefined || e.mode === mode, timeoutMs);
      phases.mark('kernel-entry');
      if (values.timings) say(`sluice: ${phases.format()}`);
      say(`sluice: running ${positionals.join(' ')} as ${sel.project}/${sel.agent} (cgroup ${cg.id}${mode ? `, ${mode}` : ''})`);

      const attempts = new Attempts();
      const sub = nc.subscribe(subjects.eventsFilter(sel), {
        callback: (_err, msg) => {
          for (const line of msg.string().split('\n')) {
            if (!line) continue;
            const r = EgressEvent.safeParse(JSON.parse(line));
            if (r.success && r.data.cgroup_id === cg.id) attempts.add(r.data);
          }
        },
      });
      if (!runAs && process.getuid?.() === 0) {
        say('sluice: the command runs as root (no sudo caller, no --user): it can move itself out of the cgroup; that is detected and recorded as an escape, not prevented');
      }
      const body = () => runInCgroup(cg, positionals, attempts, runAs);
      let code: number;
      let diff: string | undefined;
      if (values.learn) {
        const r = await learnWhile(nc, { ...sel, actor: values.actor, timeoutMs, reset: true }, async () => {
          const c = await body();
          await drain(nc, timeoutMs);
          return c;
        });
        code = r.result;
        diff = r.yaml;
        if (r.warning) say(`sluice: ${r.warning}`);
      } else {
        code = await body();
        await drain(nc, timeoutMs);
      }
      sub.unsubscribe();
      say('');
      say(attempts.table().length > 0 ? formatAttempts(attempts.table()) : 'no egress attempts');
      if (diff !== undefined) out(diff);
      return code;
    } finally {
      await request(nc, IDENTITY_API, 'unregister', { node: localNode(), cgroup_id: cg.id }, { timeoutMs }).catch((err: unknown) =>
        say(`sluice: could not unregister cgroup ${cg.id}: ${(err as Error).message}`),
      );
      await removeRunCgroup(cg);
      await nc.close();
    }
  },
};

function readPolicy(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--policy ${file}: ${(err as Error).message}`);
  }
}

async function currentPolicy(nc: NatsConnection, timeoutMs: number): Promise<{ revision: number; yaml: string } | undefined> {
  try {
    return await request(nc, POLICY_API, 'get', {}, { timeoutMs });
  } catch (err) {
    if (!(err instanceof RpcError) || err.code !== 'not_found') throw err;
    return undefined;
  }
}

/** Returns the mode the run's cgroup must end up in (undefined: whatever the operator's file says). */
async function applyPolicy(
  nc: NatsConnection,
  sel: { project: string; agent: string },
  current: { revision: number; yaml: string } | undefined,
  yaml: string | undefined,
  file: string | undefined,
  actor: string,
  timeoutMs: number,
): Promise<string | undefined> {
  if (yaml !== undefined) {
    // The same document as the current revision: applying it again would change nothing in the
    // kernel and only add a revision (the usual case when a script runs `sluice run --policy F` in a loop).
    if (current?.yaml !== yaml) {
      await request(nc, POLICY_API, 'apply', { yaml, ...(file !== undefined ? { file } : {}), actor, reason: `sluice run ${sel.project}/${sel.agent}` }, { timeoutMs });
    }
    return undefined;
  }
  const next = withRunPolicy(current?.yaml, sel, `run-${sel.agent.replace(/[^A-Za-z0-9_-]/g, '-')}`);
  if (next !== undefined) {
    await request(
      nc,
      POLICY_API,
      'apply',
      { yaml: next, actor, reason: `sluice run: learn policy for ${sel.project}/${sel.agent}`, expect_revision: current?.revision ?? 0 },
      { timeoutMs },
    );
  }
  return 'learn';
}

function runInCgroup(cg: RunCgroup, command: string[], attempts: Attempts, runAs: RunAs | undefined): Promise<number> {
  const argv = inCgroupArgv(cg, agentArgv(command, runAs, { nobpf: HELPER }));
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  // A live line only where it can be redrawn: on a terminal that is not the command's own output.
  const live = process.stderr.isTTY
    ? setInterval(() => process.stderr.write(`\r\x1b[2K[sluice] ${attempts.liveLine()}`), 500)
    : undefined;
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (live) clearInterval(live);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      // The shell convention: a command killed by signal N exits 128 + N.
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

