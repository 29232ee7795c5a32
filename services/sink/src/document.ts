// Events become ss4o-shaped documents (D33): `@timestamp`, `observedTimestamp`, one human `body`
// line, every event field under `attributes`, the emitter under `resource.attributes`. The same
// document goes to OpenSearch and to the embedded NDJSON store, so `sluice tail` reads one shape.
import type { AuditEvent, DnsEvent, EgressEvent } from '@sluice/contracts';

export type SourceName = 'egress' | 'dns' | 'overseer';

export interface Ss4oDocument {
  '@timestamp': string;
  observedTimestamp: string;
  body: string;
  severity: { text: 'INFO' | 'WARN'; number: 9 | 13 };
  attributes: Record<string, unknown>;
  resource: { attributes: { service: { name: string }; host?: { name: string } } };
}

const INFO = { text: 'INFO', number: 9 } as const;
const WARN = { text: 'WARN', number: 13 } as const;

function who(e: { agent?: string | undefined; project?: string | undefined; attribution: string }): string {
  if (e.agent === undefined && e.project === undefined) return `(${e.attribution})`;
  return `${e.project ?? '?'}/${e.agent ?? '?'}`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function egressBody(e: EgressEvent): string {
  const dst = hostPort(e.dst_host ?? e.dst_ip, e.dst_port);
  const via = e.dst_host !== undefined ? ` (${e.dst_ip}${e.dst_host_stale ? ', stale name' : ''})` : '';
  const audit = e.audit ? ' [learn: would deny]' : '';
  const bytes =
    e.bytes_in !== undefined || e.bytes_out !== undefined ? ` out=${e.bytes_out ?? 0}B in=${e.bytes_in ?? 0}B` : '';
  return `${e.verdict} ${e.kind} ${e.l4_proto} ${who(e)} ${e.comm}[${e.pid}] -> ${dst}${via} reason=${e.reason}${audit}${bytes}`;
}

export function dnsBody(e: DnsEvent): string {
  return `DNS ${e.qtype} ${e.qname} ${e.rcode} ${who(e)} -> [${e.answers.join(', ')}] ttl=${e.ttl}`;
}

export function auditBody(e: AuditEvent): string {
  const rev =
    e.before_revision !== undefined || e.after_revision !== undefined
      ? ` rev ${e.before_revision ?? '-'} -> ${e.after_revision ?? '-'}`
      : '';
  return `AUDIT ${e.kind} by ${e.actor}${rev}${e.reason ? `: ${e.reason}` : ''}`;
}

function resource(node: string | undefined): Ss4oDocument['resource'] {
  return { attributes: { service: { name: 'sluice' }, ...(node !== undefined ? { host: { name: node } } : {}) } };
}

export function egressDocument(e: EgressEvent, observed: string): Ss4oDocument {
  const warn = e.verdict !== 'ALLOWED' || e.audit;
  return {
    '@timestamp': e.time,
    observedTimestamp: observed,
    body: egressBody(e),
    severity: warn ? WARN : INFO,
    attributes: e,
    resource: resource(e.node),
  };
}

export function dnsDocument(e: DnsEvent, observed: string): Ss4oDocument {
  return {
    '@timestamp': e.time,
    observedTimestamp: observed,
    body: dnsBody(e),
    severity: INFO,
    attributes: e,
    resource: resource(e.node),
  };
}

export function auditDocument(e: AuditEvent, observed: string): Ss4oDocument {
  return {
    '@timestamp': e.time,
    observedTimestamp: observed,
    body: auditBody(e),
    severity: WARN,
    attributes: e,
    resource: resource(undefined),
  };
}
