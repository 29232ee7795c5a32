// `sluice why <container | agent | cgroup id | pid>`: the workload's last denials, each with its
// reason and rule, and the smallest policy change that would allow it (a YAML snippet in the policy
// document's format) or what else it needs. `--follow` then prints the live denial feed
// (sluice.denials.*, published by the learner) for the same workload.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DenialNotice, parsePolicy, formatPolicyError, POLICY_API, subjects } from '@sluice/contracts';
import { request, RpcError } from '@sluice/runtime';
import { out, say, UsageError, type Command } from '../command.ts';
import { RUN_DIR } from '../local/paths.ts';
import { dnsNotices, dnsSeen, lastDenials, notices, type PolicyRead, type Source } from '../why/denials.ts';
import { renderDnsNotice, renderNotice } from '../why/render.ts';
import { ofWorkload, parseTarget, resolveTarget, type Workload } from '../why/target.ts';
import { parseDuration } from './policy.ts';

const SOURCES = ['jetstream', 'ndjson'] as const;

function sinceMs(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isFinite(t)) throw new UsageError(`--since ${JSON.stringify(text)}: not an ISO time`);
    return t;
  }
  try {
    return now - parseDuration(text) * 1000;
  } catch (err) {
    throw new UsageError(`--since: ${(err as Error).message}`);
  }
}

async function currentPolicy(nc: NatsConnection): Promise<PolicyRead> {
  try {
    const r = await request(nc, POLICY_API, 'get', {}, { timeoutMs: 10_000, prefix: process.env.SLUICE_POLICY_API });
    const parsed = parsePolicy(r.yaml, { file: `policy revision ${r.revision}` });
    if (!parsed.ok) return { ok: false, error: `revision ${r.revision} does not validate: ${parsed.errors.map(formatPolicyError).join('; ')}` };
    return { ok: true, current: { document: parsed.document, revision: r.revision, ids: r.ids } };
  } catch (err) {
    if (err instanceof RpcError && err.code === 'not_found') return { ok: true, current: undefined };
    return { ok: false, error: (err as Error).message };
  }
}

/** The denial feed for the workload until interrupted (or `max` notices). */
async function follow(nc: NatsConnection, w: Workload, json: boolean, max: number): Promise<void> {
  const subject = w.project !== undefined && w.agent !== undefined ? subjects.denialsFor(w.project, w.agent) : subjects.denialsAll;
  const sub = nc.subscribe(subject);
  const stop = () => sub.unsubscribe();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  say(`why: following ${subject} (Ctrl-C to stop)`);
  let shown = 0;
  for await (const m of sub) {
    const r = DenialNotice.safeParse(m.json());
    if (!r.success) {
      say(`why: skipped a malformed notice on ${m.subject}`);
      continue;
    }
    if (!ofWorkload(w, r.data.event)) continue;
    out(json ? JSON.stringify(r.data) : renderNotice(r.data));
    if (++shown >= max) break;
  }
}

export const why: Command = {
  name: 'why',
  summary: "a workload's last denials with reason and rule, and the smallest policy change that would allow each",
  usage:
    'why <container|agent|cgroup id|pid> [--project P] [--last N] [--since 24h|ISO] [--source jetstream|ndjson] [--dir DIR] [--follow [--count N]] [--json]\n' +
    '    (prefix to be explicit: container:X agent:X cgroup:N pid:N; a bare number is a pid when that process exists, else a cgroup id;\n' +
    '     a bare word is a container Docker knows, else an agent)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        project: { type: 'string' },
        last: { type: 'string', default: '10' },
        since: { type: 'string', default: '24h' },
        source: { type: 'string', default: 'jetstream' },
        dir: { type: 'string' },
        follow: { type: 'boolean', default: false },
        count: { type: 'string' },
        json: { type: 'boolean', default: false },
        nats: { type: 'string' },
        'docker-socket': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(`why: name exactly one target\nusage: sluice ${this.usage}`);
    const last = Number(values.last);
    if (!/^\d+$/.test(values.last) || last < 1 || last > 10_000) throw new UsageError(`--last ${JSON.stringify(values.last)}: a whole number from 1 to 10000`);
    const count = values.count === undefined ? Infinity : Number(values.count);
    if (values.count !== undefined && (!/^\d+$/.test(values.count) || count < 1)) throw new UsageError(`--count ${JSON.stringify(values.count)}: a whole number ≥ 1`);
    const source = values.source as (typeof SOURCES)[number];
    if (!SOURCES.includes(source)) throw new UsageError(`--source ${JSON.stringify(values.source)}: expected one of ${SOURCES.join(', ')}`);
    const now = Date.now();
    const from = sinceMs(values.since, now);

    const w = await resolveTarget(parseTarget(positionals[0]!), {
      dockerSocket: values['docker-socket'] ?? process.env.DOCKER_SOCKET ?? '/var/run/docker.sock',
      agentLabel: process.env.AGENT_LABEL ?? 'dev.clawker.agent',
      projectLabel: process.env.PROJECT_LABEL ?? 'dev.clawker.project',
      project: values.project,
    });
    say(`why: ${w.described}`);

    const servers = values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    const user = process.env.SLUICE_NATS_USER ?? process.env.NATS_USER;
    const pass = process.env.SLUICE_NATS_PASSWORD ?? process.env.NATS_PASSWORD;
    let nc: NatsConnection | undefined;
    let natsError = '';
    try {
      nc = await connect({ servers: servers.split(','), timeout: 3000, maxReconnectAttempts: 0, name: 'sluice-why', ...(user ? { user, pass: pass ?? '' } : {}) });
    } catch (err) {
      natsError = `cannot connect to NATS at ${servers}: ${(err as Error).message}`;
      // The NDJSON store needs no NATS: the reasons still print, without changes.
      if (source === 'jetstream' || values.follow) throw new UsageError(natsError, 1);
    }
    try {
      const src: Source =
        source === 'jetstream' ? { kind: 'jetstream', src: { servers, user, pass } } : { kind: 'ndjson', dir: values.dir ?? process.env.SINK_DATA_DIR ?? join(RUN_DIR, 'data', 'events') };
      let bad = 0;
      const onBad = (where: string, why: string) => {
        if (++bad <= 5) say(`why: skipped ${where}: ${why}`);
      };
      const [events, policy] = await Promise.all([
        lastDenials(src, w, from, last, onBad),
        nc ? currentPolicy(nc) : Promise.resolve<PolicyRead>({ ok: false, error: natsError }),
      ]);
      if (!policy.ok) say(`why: cannot read the current policy (${policy.error}): reasons only, no changes`);
      const dns = await dnsSeen(src, w, from, last, onBad);
      const list = notices(events, policy, dns.resolvers);
      const refused = dnsNotices(dns.rejected, policy);
      if (bad > 5) say(`why: ${bad} unreadable events skipped in all`);
      if (list.length === 0) say(`why: no denials since ${new Date(from).toISOString()} (${source})`);
      for (const n of list) out(values.json ? JSON.stringify(n) : `${renderNotice(n)}\n`);
      // Answers the kernel did not believe: the connects after them were judged without the name.
      for (const n of refused) out(values.json ? JSON.stringify(n) : `${renderDnsNotice(n)}\n`);
      if (values.follow && nc) await follow(nc, w, values.json, count);
      return 0;
    } finally {
      await nc?.close();
    }
  },
};
