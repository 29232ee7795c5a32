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

interface Resource {
  value: Ss4oDocument['resource'];
  json: string;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

const NO_NODE: Resource = resourceOf(undefined);
// Events come from a handful of nodes: their resource part (object and JSON) is built once each.
// Bounded so that a stream of junk node names cannot grow it without limit.
const byNode = new Map<string, Resource>();
const BY_NODE_MAX = 1024;

function resourceOf(node: string | undefined): Resource {
  const value: Ss4oDocument['resource'] = {
    attributes: { service: { name: 'sluice' }, ...(node !== undefined ? { host: { name: node } } : {}) },
  };
  // Shared by every document from that node: frozen so no consumer can change them all at once.
  return { value: deepFreeze(value), json: JSON.stringify(value) };
}

function resource(node: string | undefined): Ss4oDocument['resource'] {
  if (node === undefined) return NO_NODE.value;
  let r = byNode.get(node);
  if (r === undefined) {
    if (byNode.size >= BY_NODE_MAX) byNode.clear();
    r = resourceOf(node);
    byNode.set(node, r);
    jsonOfResource.set(r.value, r.json);
  }
  return r.value;
}

const jsonOfResource = new WeakMap<object, string>([[NO_NODE.value, NO_NODE.json]]);
const INFO_JSON = JSON.stringify(INFO);
const WARN_JSON = JSON.stringify(WARN);

/**
 * `doc` serialized, with `attributesJson` (already-serialized attributes, e.g. the validated input
 * line) spliced in. Byte for byte what `JSON.stringify(doc)` gives with `attributes` moved last, but
 * built from parts: stringifying the whole nested object per event was most of the sink's CPU.
 */
export function documentJson(doc: Ss4oDocument, attributesJson: string): string {
  return `${documentHead(doc)}${attributesJson}}`;
}

/**
 * `documentJson` up to its attributes: the document is this, the attributes' JSON, then `}`. Five
 * pieces: what lies between the timestamp and the body is the same for a whole message, and what
 * follows the body is one of two per resource, each kept as one string.
 */
export function documentHead(doc: Ss4oDocument): string {
  return `{"@timestamp":${JSON.stringify(doc['@timestamp'])}${observedPart(doc.observedTimestamp)}${JSON.stringify(doc.body)}${tailPart(doc)}`;
}

/**
 * `documentHead` of a document whose `@timestamp` passed its event schema's ISO datetime check
 * (every event schema has one): digits, `-`, `:`, `.`, `T`, `Z` and `+`, nothing JSON escapes, so
 * the string is quoted as it is instead of stringified. Same bytes (document.test.ts).
 */
export function checkedDocumentHead(doc: Ss4oDocument): string {
  return `{"@timestamp":"${doc['@timestamp']}"${observedPart(doc.observedTimestamp)}${JSON.stringify(doc.body)}${tailPart(doc)}`;
}

// Every document of a message has the same observed time: serialized once, not once a document.
let lastObserved = '';
let lastObservedPart = '';
/** What lies between a document's `@timestamp` value and its body's JSON. */
export function observedPart(observed: string): string {
  if (observed !== lastObserved || lastObservedPart === '') {
    lastObserved = observed;
    lastObservedPart = `,"observedTimestamp":${JSON.stringify(observed)},"body":`;
  }
  return lastObservedPart;
}

/** Severity, resource and the attributes' key: per shared resource, its INFO and WARN forms. */
const tails = new WeakMap<object, { info: string; warn: string }>();
function tailPart(doc: Ss4oDocument): string {
  const known = doc.severity === WARN || doc.severity === INFO;
  let t = known ? tails.get(doc.resource) : undefined;
  if (t === undefined) {
    const res = jsonOfResource.get(doc.resource);
    if (!known || res === undefined) {
      return `,"severity":${JSON.stringify(doc.severity)},"resource":${res ?? JSON.stringify(doc.resource)},"attributes":`;
    }
    t = { info: `,"severity":${INFO_JSON},"resource":${res},"attributes":`, warn: `,"severity":${WARN_JSON},"resource":${res},"attributes":` };
    tails.set(doc.resource, t);
  }
  return doc.severity === WARN ? t.warn : t.info;
}

/** What follows a node's documents' bodies up to their attributes' JSON, INFO and WARN. */
export function tailsOf(node: string | undefined): { info: string; warn: string } {
  const res = resource(node);
  const part = (severity: Ss4oDocument['severity']) => tailPart({ severity, resource: res } as Ss4oDocument);
  return { info: part(INFO), warn: part(WARN) };
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
    // Node-scoped audit events (drop notices, raw-socket flags) name their node: it is the host.
    resource: resource(typeof e.subject?.node === 'string' ? e.subject.node : undefined),
  };
}
