// A denial notice for the operator: one header line (when, what, reason, rule), why, and the
// change as the YAML snippet to merge, or what else is needed when no rule can allow it. Pure.
import type { DenialAdvice, DenialNotice, DnsRejectionNotice } from '@sluice/contracts';

const indent = (text: string, by: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');

export function renderNotice(n: DenialNotice): string {
  const e = n.event;
  const dst = e.kind === 'sock_create' ? `${e.sock_type ?? 'raw'} socket, protocol ${e.sock_protocol ?? '?'}` : `${e.dst_host ? `${e.dst_host} ` : ''}${e.dst_ip}:${e.dst_port}/${e.l4_proto}`;
  const lines = [
    `${e.time}  DENIED ${e.kind} ${dst}  reason=${e.reason}  pid=${e.pid} comm=${e.comm}${n.advice.rule ? `  rule=${n.advice.rule}` : ''}`,
    `  why: ${n.advice.why}`,
  ];
  return [...lines, ...adviceLines(n.advice)].join('\n');
}

function adviceLines(a: DenialAdvice): string[] {
  const lines: string[] = [];
  const c = a.change;
  if (c) {
    lines.push(`  change${c.verified ? ' (replayed through the policy compiler: this attempt would be ALLOWED)' : ' (NOT verified: see note)'}:`);
    lines.push(indent(c.yaml, '    '));
    if (c.note) lines.push(`  note: ${c.note}`);
  } else if (a.no_change) {
    lines.push(`  no rule change (${a.no_change.code}): ${a.no_change.message}`);
  }
  return lines;
}

export function renderDnsNotice(n: DnsRejectionNotice): string {
  const d = n.dns_event;
  return [`${d.time}  DNS answer not believed: ${d.qname} ${d.qtype} from ${d.resolver_ip ?? '?'} (${d.rejected ?? 'forged'})  pid=${d.pid ?? '?'} comm=${d.comm ?? '?'}`, `  why: ${n.advice.why}`, ...adviceLines(n.advice)].join('\n');
}
