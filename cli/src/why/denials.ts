// The workload's last denials from where events are kept (SLUICE_EVENTS, or the NDJSON store),
// each with its advice against the current policy, and the resolvers DNS events saw answering
// their names (so a host rule is offered with the resolver it needs).
import type { DenialNotice, DnsEvent, DnsRejectionNotice, EgressEvent } from '@sluice/contracts';
import { adviseDenial, adviseDnsRejection, unavailableAdvice, type CurrentDocument } from '@sluice/policy-advice';
import { ResolverIndex } from '@sluice/policy/simulate';
import { jetstreamDns, jetstreamEvents, ndjsonDns, ndjsonEvents, type EventQuery, type JetStreamSource, type OnBad } from '../policy/event-sources.ts';
import { ofWorkload, type Workload } from './target.ts';

export type Source = { kind: 'jetstream'; src: JetStreamSource } | { kind: 'ndjson'; dir: string };

/** The newest `last` denials of the workload since `from`, oldest first. */
export async function lastDenials(source: Source, w: Workload, from: number, last: number, onBad: OnBad): Promise<EgressEvent[]> {
  const q: EventQuery = { from, verdict: 'DENIED', ...(w.project !== undefined ? { project: w.project } : {}), ...(w.agent !== undefined ? { agent: w.agent } : {}) };
  const events = source.kind === 'jetstream' ? jetstreamEvents(source.src, q, onBad) : ndjsonEvents(source.dir, q, onBad);
  const kept: EgressEvent[] = [];
  for await (const e of events) {
    if (!ofWorkload(w, e)) continue;
    kept.push(e);
    if (kept.length > last) kept.shift();
  }
  return kept.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

export interface DnsSeen {
  /** Who answered which names (believed answers only): the resolver a host rule needs. */
  resolvers: ResolverIndex;
  /** The newest `last` answers the kernel did not believe, oldest first. */
  rejected: DnsEvent[];
}

export async function dnsSeen(source: Source, w: Workload, from: number, last: number, onBad: OnBad): Promise<DnsSeen> {
  const out: DnsSeen = { resolvers: new ResolverIndex(), rejected: [] };
  const q: EventQuery = { from, ...(w.project !== undefined ? { project: w.project } : {}), ...(w.agent !== undefined ? { agent: w.agent } : {}) };
  const dns = source.kind === 'jetstream' ? jetstreamDns(source.src, q, onBad) : ndjsonDns(source.dir, q, onBad);
  for await (const d of dns) {
    if (!ofWorkload(w, d)) continue;
    if (!d.forged && !d.rejected) out.resolvers.add(d);
    else if (Date.parse(d.time) >= from) {
      out.rejected.push(d);
      if (out.rejected.length > last) out.rejected.shift();
    }
  }
  return out;
}

export function dnsNotices(list: readonly DnsEvent[], policy: PolicyRead): DnsRejectionNotice[] {
  return list.flatMap((d) => {
    const advice = policy.ok
      ? adviseDnsRejection(policy.current, d)
      : { why: `answer for ${d.qname} from ${d.resolver_ip ?? '?'} not believed (${d.rejected ?? 'forged'})`, no_change: { code: 'policy_unavailable' as const, message: policy.error } };
    if (!advice) return [];
    const revision = policy.ok ? policy.current?.revision : undefined;
    return [{ dns_event: d, advice, ...(revision !== undefined ? { policy_revision: revision } : {}) }];
  });
}

export type PolicyRead = { ok: true; current: CurrentDocument | undefined } | { ok: false; error: string };

export function notices(events: readonly EgressEvent[], policy: PolicyRead, resolvers: ResolverIndex): DenialNotice[] {
  return events.map((e) => {
    const seen = e.dst_host ? resolvers.lookup(e.project, e.agent, e.dst_host) : undefined;
    const advice = policy.ok ? adviseDenial(policy.current, e, { resolvers: seen }) : unavailableAdvice(e, policy.error);
    const revision = policy.ok ? policy.current?.revision : undefined;
    return { event: e, advice, ...(revision !== undefined ? { policy_revision: revision } : {}) };
  });
}
