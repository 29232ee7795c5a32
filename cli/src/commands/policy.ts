// `sluice policy …`: validate locally; everything else through the policy service's NATS API
// (POLICY_API in contracts), so the CLI never writes the KV bucket or the maps itself.
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  formatPolicyError,
  parsePolicy,
  POLICY_API,
  renderPolicyChange,
  type PolicyChange,
  type PolicyError,
  type RequestOf,
  type ResultOf,
} from '@sluice/contracts';
import { checkPolicy } from '@sluice/policy-lint';
import { request, RpcError } from '@sluice/runtime';
import { out, say, UsageError, type Command } from '../command.ts';
import { applyRefusal, countBy, printFindings } from '../policy/findings.ts';
import { policyTest, POLICY_TEST_USAGE } from '../policy/test-command.ts';
import { cliNatsServers } from '../nats-servers.ts';

const USAGE = `policy validate FILE… [--strict] [--json] [--max-bytes N]
       policy apply FILE [--yes] [--reason R] [--expect-revision N] [--json]
       policy diff FILE [--json]
       ${POLICY_TEST_USAGE}
       policy get [--revision N] [--json]
       policy history [--limit N] [--json]
       policy rollback REV [--reason R] [--json]
       policy bypass --agent A [--project P] --for 15m --reason R [--json]
       policy bypass list [--json]
       policy bypass cancel ID [--reason R]
  Findings (breadth and sanity warnings) print as FILE:LINE:COL: SEVERITY CODE: message; validate
  exits 0 on them (2 with --strict), apply refuses a high one without --yes. Silence one on purpose
  with ack: [code] on the rule or policy.
  NATS: --nats URL (or NATS_URL), identity from SLUICE_NATS_USER / SLUICE_NATS_PASSWORD;
  actor recorded in audit events: --actor or SLUICE_ACTOR (default user@host).`;

/** "15m", "1h30m", "90s", "2d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') throw new UsageError(`bad duration "${text}" (e.g. 15m, 1h30m, 90s)`);
  const [d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number];
  const total = d * 86400 + h * 3600 + mi * 60 + s;
  if (total <= 0) throw new UsageError(`duration "${text}" must be positive`);
  return total;
}

function readDoc(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
}

function printErrors(errors: PolicyError[]): void {
  for (const e of errors) say(formatPolicyError(e));
  say(`${errors.length} error(s)`);
}

const common = {
  json: { type: 'boolean', default: false },
  nats: { type: 'string' },
  actor: { type: 'string' },
  reason: { type: 'string' },
} as const;

class Api {
  private constructor(private readonly nc: NatsConnection) {}

  static async open(url: string | undefined): Promise<Api> {
    const servers = cliNatsServers(url);
    const user = process.env.SLUICE_NATS_USER ?? process.env.NATS_USER;
    const pass = process.env.SLUICE_NATS_PASSWORD ?? process.env.NATS_PASSWORD;
    try {
      return new Api(await connect({ servers, timeout: 3000, maxReconnectAttempts: 0, name: 'sluice-cli', ...(user ? { user, pass: pass ?? '' } : {}) }));
    } catch (err) {
      throw new UsageError(`cannot connect to NATS at ${servers}: ${(err as Error).message}`, 1);
    }
  }

  /** Returns the result, or throws a UsageError carrying the service's structured error. */
  async call<V extends keyof typeof POLICY_API.verbs>(verb: V, body: RequestOf<typeof POLICY_API, V>): Promise<ResultOf<typeof POLICY_API, V>> {
    try {
      return await request(this.nc, POLICY_API, verb, body, { timeoutMs: 15_000, prefix: process.env.SLUICE_POLICY_API });
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      if (err.code === 'invalid_policy' && Array.isArray(err.details)) {
        printErrors(err.details as PolicyError[]);
        throw new UsageError(err.message, 2);
      }
      if (err.code === 'unavailable' || err.code === 'forbidden') throw new UsageError(`policy ${verb}: ${err.message}`, 1);
      throw new UsageError(`${err.code}: ${err.message}`, err.code === 'bad_request' ? 2 : 1);
    }
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

const actorOf = (v: string | undefined) => v ?? process.env.SLUICE_ACTOR ?? `${userInfo().username}@${hostname()}`;

async function withApi<T>(url: string | undefined, fn: (api: Api) => Promise<T>): Promise<T> {
  const api = await Api.open(url);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

function printChange(c: PolicyChange, json: boolean, extra: Record<string, unknown> = {}): void {
  if (json) out(JSON.stringify({ ...extra, change: c }));
  else for (const line of renderPolicyChange(c)) out(line);
}

async function validate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...common, 'max-bytes': { type: 'string' }, strict: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new UsageError('policy validate needs at least one FILE');
  const maxBytes = values['max-bytes'] === undefined ? undefined : Number(values['max-bytes']);
  let failed = false;
  const results = [];
  for (const file of positionals) {
    const r = checkPolicy(readFileSync(file), { file, ...(maxBytes ? { maxBytes } : {}) });
    results.push({ file, valid: r.ok, errors: r.ok ? [] : r.errors, findings: r.ok ? r.findings : [] });
    if (r.ok) {
      const n = r.document.policies.length;
      if (!values.json) printFindings(r.findings);
      say(`${file}: valid (${n} ${n === 1 ? 'policy' : 'policies'})${r.findings.length ? `, ${countBy(r.findings)}` : ''}`);
      if (values.strict && r.findings.length) failed = true;
    } else {
      failed = true;
      if (!values.json) printErrors(r.errors);
    }
  }
  if (values.json) out(JSON.stringify(results));
  return failed ? 2 : 0;
}

async function bypass(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...common, agent: { type: 'string' }, project: { type: 'string' }, for: { type: 'string' } },
  });
  const [sub, id] = positionals;
  return withApi(values.nats, async (api) => {
    if (sub === 'list') {
      const list = await api.call('bypass_list', {});
      if (values.json) out(JSON.stringify(list));
      else {
        out(['ID', 'AGENT', 'PROJECT', 'EXPIRES', 'ACTOR', 'REASON'].join('\t'));
        for (const b of list) out([b.id, b.agent, b.project ?? '*', `${b.expires_at}${b.expired ? ' (expired)' : ''}`, b.actor, b.reason].join('\t'));
      }
      return 0;
    }
    if (sub === 'cancel') {
      if (!id) throw new UsageError('policy bypass cancel needs an ID (see policy bypass list)');
      await api.call('bypass_cancel', { id, actor: actorOf(values.actor), ...(values.reason ? { reason: values.reason } : {}) });
      say(`bypass ${id} cancelled`);
      return 0;
    }
    if (sub !== undefined) throw new UsageError(`unknown bypass subcommand "${sub}" (list, cancel)`);
    if (!values.agent || !values.for || !values.reason) throw new UsageError('policy bypass needs --agent, --for and --reason');
    const b = await api.call('bypass', {
      agent: values.agent,
      ...(values.project ? { project: values.project } : {}),
      duration_s: parseDuration(values.for),
      actor: actorOf(values.actor),
      reason: values.reason,
    });
    if (values.json) out(JSON.stringify(b));
    else out(`bypass ${b.id} for agent ${values.agent} until ${b.expires_at}`);
    return 0;
  });
}

export const policy: Command = {
  name: 'policy',
  summary: 'validate, apply, diff, test (replay stored traffic), get, history, rollback allowlists; bypass an agent for a while',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'validate') return validate(rest);
    if (sub === 'bypass') return bypass(rest);
    if (sub === 'test') return policyTest(rest);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...common,
        revision: { type: 'string' },
        limit: { type: 'string' },
        'expect-revision': { type: 'string' },
        yes: { type: 'boolean', default: false },
      },
    });
    const num = (v: string | undefined, what: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got "${v}"`);
      return n;
    };
    switch (sub) {
      case 'apply':
      case 'diff': {
        const file = positionals[0];
        if (!file) throw new UsageError(`policy ${sub} needs a FILE`);
        const yaml = readDoc(file);
        // Validate here first: errors show without a round trip, and a document too large for a
        // NATS message is refused with the same precise error instead of a transport failure.
        const local = checkPolicy(yaml, { file });
        if (!local.ok) {
          printErrors(local.errors);
          return 2;
        }
        printFindings(local.findings);
        const findings = values.json ? { findings: local.findings } : {};
        if (sub === 'apply') {
          const refusal = applyRefusal(local.findings, values.yes);
          if (refusal) {
            say(refusal);
            return 2;
          }
        }
        return withApi(values.nats, async (api) => {
          if (sub === 'diff') {
            printChange(await api.call('diff', { yaml, file }), values.json, findings);
            return 0;
          }
          const expect = num(values['expect-revision'], '--expect-revision');
          const r = await api.call('apply', {
            yaml,
            file,
            actor: actorOf(values.actor),
            ...(values.reason ? { reason: values.reason } : {}),
            ...(expect !== undefined ? { expect_revision: expect } : {}),
          });
          printChange(r.change, values.json, { revision: r.revision, ...findings });
          say(`applied as revision ${r.revision}`);
          return 0;
        });
      }
      case 'get':
        return withApi(values.nats, async (api) => {
          const revision = num(values.revision, '--revision');
          const r = await api.call('get', revision ? { revision } : {});
          if (values.json) out(JSON.stringify(r));
          else {
            say(`# revision ${r.revision}`);
            process.stdout.write(r.yaml);
          }
          return 0;
        });
      case 'history':
        return withApi(values.nats, async (api) => {
          const limit = num(values.limit, '--limit');
          const h = await api.call('history', limit ? { limit } : {});
          if (values.json) out(JSON.stringify(h));
          else {
            out(['REVISION', 'TIME', 'ACTOR', 'REASON'].join('\t'));
            for (const r of h) out([r.revision, r.time, r.actor, `${r.reason ?? ''}${r.rollback_of ? ` (rollback of ${r.rollback_of})` : ''}`].join('\t'));
          }
          return 0;
        });
      case 'rollback': {
        const revision = num(positionals[0], 'REV');
        if (!revision) throw new UsageError('policy rollback needs a revision number (see policy history)');
        return withApi(values.nats, async (api) => {
          const r = await api.call('rollback', {
            revision,
            actor: actorOf(values.actor),
            ...(values.reason ? { reason: values.reason } : {}),
          });
          printChange(r.change, values.json, { revision: r.revision });
          say(`rolled back to revision ${revision} as revision ${r.revision}`);
          return 0;
        });
      }
      default:
        throw new UsageError(`usage: sluice ${USAGE}`);
    }
  },
};
