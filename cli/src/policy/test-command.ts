// `sluice policy test CANDIDATE`: what would the candidate have done to stored traffic? Replays
// egress events through the policy service's own compile/evaluate (services/policy simulate.ts)
// and exits 1 when anything would be newly denied, so a policy repository can gate on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatPolicyError, type DnsEvent, type EgressEvent } from '@sluice/contracts';
import { checkPolicy } from '@sluice/policy-lint';
import { attemptOf, ResolverIndex, SimulationBuilder, type SkipReason } from '@sluice/policy/simulate';
import { out, say, UsageError } from '../command.ts';
import { parseSince } from '../events/filter.ts';
import { RUN_DIR } from '../local/paths.ts';
import { printFindings } from './findings.ts';
import { jetstreamDns, jetstreamEvents, ndjsonDns, ndjsonEvents, opensearchEvents, type EventQuery, type OnBad } from './event-sources.ts';
import { renderSimulation } from './simulation-render.ts';
import { cliNatsServers } from '../nats-servers.ts';

export const POLICY_TEST_USAGE = `policy test CANDIDATE [--since 24h | --from ISO [--to ISO]] [--project P] [--agent A]
                   [--source ndjson|jetstream|opensearch] [--dir DIR] [--opensearch URL] [--json]
         (exit 1: the candidate would newly deny stored attempts; ndjson reads SINK_DATA_DIR or .run/data/events)`;

const SOURCES = ['ndjson', 'jetstream', 'opensearch'] as const;

function parseTime(flag: string, v: string): number {
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${flag} ${JSON.stringify(v)}: expected an ISO time (2026-12-01T10:00:00Z)`);
  return t;
}

export function queryOf(values: { since?: string; from?: string; to?: string; project?: string; agent?: string }, now = Date.now()): EventQuery {
  if (values.since !== undefined && values.from !== undefined) throw new UsageError('use --since or --from/--to, not both');
  const q: EventQuery = {};
  if (values.since !== undefined) q.from = parseSince(values.since, now);
  if (values.from !== undefined) q.from = parseTime('from', values.from);
  if (values.to !== undefined) q.to = parseTime('to', values.to);
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw new UsageError('--from is after --to');
  if (values.project !== undefined) q.project = values.project;
  if (values.agent !== undefined) q.agent = values.agent;
  return q;
}

export async function policyTest(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      project: { type: 'string' },
      agent: { type: 'string' },
      source: { type: 'string', default: 'ndjson' },
      dir: { type: 'string' },
      nats: { type: 'string' },
      opensearch: { type: 'string' },
      index: { type: 'string', default: 'clawker-egress' },
      json: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`usage: sluice ${POLICY_TEST_USAGE}`);
  const source = values.source as (typeof SOURCES)[number];
  if (!SOURCES.includes(source)) throw new UsageError(`--source ${JSON.stringify(values.source)}: expected one of ${SOURCES.join(', ')}`);
  const q = queryOf(values);

  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const checked = checkPolicy(text, { file });
  if (!checked.ok) {
    for (const e of checked.errors) say(formatPolicyError(e));
    say(`${checked.errors.length} error(s): nothing replayed`);
    return 2;
  }
  if (!values.json) printFindings(checked.findings);

  let unreadable = 0;
  const onBad: OnBad = (where, why) => {
    unreadable++;
    if (unreadable <= 20) say(`policy test: skipped unreadable event at ${where}: ${why}`);
  };
  let where: string;
  let events: AsyncIterable<EgressEvent>;
  // Which resolver answered each name (DNS events), where the source keeps them: without it a
  // name counts as trusted whenever the candidate's policy lists any resolver.
  let dns: AsyncIterable<DnsEvent> | undefined;
  if (source === 'ndjson') {
    const dir = values.dir ?? process.env.SINK_DATA_DIR ?? join(RUN_DIR, 'data', 'events');
    where = `ndjson store ${dir}`;
    events = ndjsonEvents(dir, q, onBad);
    dns = ndjsonDns(dir, q, onBad);
  } else if (source === 'jetstream') {
    const servers = cliNatsServers(values.nats).join(',');
    where = `JetStream SLUICE_EVENTS at ${servers}`;
    const user = process.env.SLUICE_NATS_USER ?? process.env.NATS_USER;
    const pass = process.env.SLUICE_NATS_PASSWORD ?? process.env.NATS_PASSWORD;
    events = jetstreamEvents({ servers, user, pass }, q, onBad);
    dns = jetstreamDns({ servers, user, pass }, q, onBad);
  } else {
    const node = values.opensearch ?? process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9200';
    where = `OpenSearch ${values.index} at ${node}`;
    events = opensearchEvents({ node, index: values.index }, q, onBad);
  }

  const sim = new SimulationBuilder(checked.document);
  const skipped: Partial<Record<SkipReason, number>> = {};
  const resolvers = new ResolverIndex();
  try {
    if (dns) for await (const d of dns) resolvers.add(d);
    for await (const e of events) {
      const a = attemptOf(e, resolvers);
      if (typeof a === 'string') skipped[a] = (skipped[a] ?? 0) + 1;
      else sim.add(a);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`reading ${where}: ${(err as Error).message}`, 1);
  }
  const result = sim.result();
  const window = { from: q.from !== undefined ? new Date(q.from).toISOString() : null, to: q.to !== undefined ? new Date(q.to).toISOString() : null };
  if (values.json) {
    out(JSON.stringify({ candidate: file, source: where, window, ...result, skipped, unreadable, dns_names: resolvers.size, findings: checked.findings }));
  } else {
    for (const line of renderSimulation(result)) out(line);
  }
  const skippedText = Object.entries(skipped).map(([k, n]) => `${k} ${n}`).join(', ');
  say(
    `replayed ${result.replayed} attempt(s) from ${where} (${window.from ?? 'oldest'} .. ${window.to ?? 'newest'}): ${result.unchanged} unchanged` +
      `${skippedText ? `; not replayed: ${skippedText}` : ''}${unreadable ? `; ${unreadable} unreadable` : ''}; ${resolvers.size} resolved name(s) with their resolvers`,
  );
  if (result.replayed === 0) say('policy test: no stored attempts matched: nothing was tested (check --source, --dir and the window)');
  return result.newly_denied.length > 0 ? 1 : 0;
}
