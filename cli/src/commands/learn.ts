// sluice learn start|status|diff|accept|reset: talks to the learner service over
// the learn API (LEARN_API in contracts). The diff (YAML) and --json results go to stdout; everything else to stderr.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { out, say, UsageError, type Command } from '../command.ts';
import { LEARN_API } from '@sluice/contracts';
import { request, RpcError } from '@sluice/runtime';
import { acceptLearned } from './learn-accept.ts';
import { cliNatsServers } from '../nats-servers.ts';

const VERBS = ['start', 'status', 'diff', 'accept', 'reset'] as const;
type Verb = (typeof VERBS)[number];

interface SessionView {
  sid: string;
  project: string;
  agent?: string;
  started_at: string;
  events: number;
  learned: number;
  duplicates: number;
  overflow: number;
  destinations: number;
}

export const learn: Command = {
  name: 'learn',
  summary: 'learn sessions: record what agents reach, propose and accept the allowlist diff',
  usage: [
    'learn <start|status|diff|accept|reset> --project P [--agent A] [options]',
    '  status               lists sessions (--project optional)',
    '  diff                 prints the proposed allowlist diff as YAML',
    '  accept [--enforce] [--wildcard "**.example.com"]... [--resolver IP]... [--reason TEXT]',
    '                       applies the diff through the policy API (audited); --enforce also switches the policy to enforce;',
    '                       --resolver lists a suggested (non-loopback) resolver that answered the session on purpose;',
    '                       refused when the session\'s would-deny attempts, replayed against the result, are not all allowed',
    '  reset                ends the session and discards what it learned',
    '  common: [--json] [--nats URL] [--actor NAME] [--timeout-ms N]',
    '  NATS identity from SLUICE_NATS_USER / SLUICE_NATS_PASSWORD (accept needs the operator: it applies policy)',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        project: { type: 'string' },
        agent: { type: 'string' },
        json: { type: 'boolean', default: false },
        enforce: { type: 'boolean', default: false },
        wildcard: { type: 'string', multiple: true, default: [] },
        resolver: { type: 'string', multiple: true, default: [] },
        reason: { type: 'string' },
        actor: { type: 'string', default: process.env.SLUICE_ACTOR ?? `${userInfo().username}@cli` },
        nats: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
        'timeout-ms': { type: 'string', default: '15000' },
      },
    });
    const verb = positionals[0] as Verb | undefined;
    if (!verb || !VERBS.includes(verb)) throw new UsageError(`learn needs one of ${VERBS.join('|')} (got ${positionals[0] ?? 'nothing'})`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (verb !== 'status' && !values.project) throw new UsageError(`learn ${verb} needs --project`);
    const timeout = Number(values['timeout-ms']);
    if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout-ms must be a positive integer (got ${values['timeout-ms']})`);
    const sel = { ...(values.project ? { project: values.project } : {}), ...(values.agent ? { agent: values.agent } : {}) };
    // The operator's identity, as `sluice policy` uses it: accept applies policy under it.
    const user = process.env.SLUICE_NATS_USER ?? process.env.NATS_USER;
    const pass = process.env.SLUICE_NATS_PASSWORD ?? process.env.NATS_PASSWORD;
    let nc;
    try {
      nc = await connect({ servers: cliNatsServers(values.nats), name: 'sluice-cli learn', timeout: 5000, maxReconnectAttempts: 0, ...(user ? { user, pass: pass ?? '' } : {}) });
    } catch (err) {
      throw new UsageError(`cannot connect to NATS at ${values.nats}: ${(err as Error).message}`, 1);
    }
    let r: Record<string, unknown>;
    try {
      r =
        verb === 'accept'
          ? ({ ...(await acceptLearned(nc, {
              project: values.project!,
              ...(values.agent ? { agent: values.agent } : {}),
              actor: values.actor,
              ...(values.reason ? { reason: values.reason } : {}),
              enforce: values.enforce,
              wildcards: values.wildcard,
              resolvers: values.resolver,
              ...(process.env.SLUICE_POLICY_API ? { policyApi: process.env.SLUICE_POLICY_API } : {}),
              timeoutMs: timeout,
            })) } as Record<string, unknown>)
          : ((await request(nc, LEARN_API, verb, (verb === 'start' || verb === 'reset' ? { ...sel, actor: values.actor } : sel) as never, { timeoutMs: timeout })) as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      say(`sluice learn ${verb}: ${err.code}: ${err.message}`);
      if (Array.isArray(err.details)) for (const d of err.details) say(`  ${JSON.stringify(d)}`);
      return err.code === 'not_found' ? 3 : 1;
    } finally {
      await nc.close();
    }
    if (values.json) {
      out(JSON.stringify(r));
      return 0;
    }
    switch (verb) {
      case 'start': {
        const s = r.session as SessionView;
        say(`${r.created ? 'started' : 'already running'}: ${label(s)} since ${s.started_at}`);
        return 0;
      }
      case 'status': {
        const list = r.sessions as SessionView[];
        out(['PROJECT', 'AGENT', 'STARTED', 'EVENTS', 'LEARNED', 'DESTINATIONS', 'DUPLICATES', 'OVERFLOW'].join('\t'));
        for (const s of list) out([s.project, s.agent ?? '*', s.started_at, s.events, s.learned, s.destinations, s.duplicates, s.overflow].join('\t'));
        return 0;
      }
      case 'diff': {
        if (typeof r.warning === 'string') say(`warning: ${r.warning}`);
        const s = r.session as SessionView;
        say(`# ${label(s)}: ${s.learned} learned of ${s.events} events since ${s.started_at}, against policy revision ${Number(r.policy_revision) || 'none'}`);
        if (s.overflow) say(`# warning: ${s.overflow} events exceeded the session's caps and are not in this diff`);
        process.stdout.write(String(r.yaml));
        return 0;
      }
      case 'accept': {
        const added = r.added as string[];
        if (!r.changed) say('nothing to accept: the current policy already allows everything learned');
        else say(`policy revision ${String(r.revision)} (policy ${String(r.policy)}): added ${added.length} rule(s)`);
        const proof = r.proof as { destinations: number; attempts: number } | undefined;
        if (proof) say(`proof: the session's ${proof.attempts} would-deny attempt(s) to ${proof.destinations} destination(s), replayed against the applied policy: 0 would be denied`);
        if (typeof r.warning === 'string') say(`warning: ${r.warning}`);
        for (const a of added) out(`+ ${a}`);
        return 0;
      }
      case 'reset':
        say(r.reset ? 'session reset' : 'no such session');
        return r.reset ? 0 : 3;
    }
  },
};

function label(s: { project: string; agent?: string }): string {
  return s.agent === undefined ? `project ${s.project}` : `project ${s.project}, agent ${s.agent}`;
}
