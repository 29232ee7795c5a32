// Index templates for the sink's data streams. This file is the source of truth; the JSON copies in
// infra/opensearch/templates/ are generated from it (`tsx packages/testkit/src/opensearch-infra.ts`) and a
// unit test fails when they drift. Bump TEMPLATE_VERSION on any change: the sink only replaces an
// installed template whose version is older, so replicas of different ages never fight.
import type { SourceName } from './document.ts';

export const TEMPLATE_VERSION = 3;
export const SOURCES: readonly SourceName[] = ['egress', 'dns', 'overseer'];

type Field = Record<string, unknown>;
const keyword: Field = { type: 'keyword', ignore_above: 1024 };
const bool: Field = { type: 'boolean' };
const long: Field = { type: 'long' };
const integer: Field = { type: 'integer' };
const date: Field = { type: 'date', format: 'strict_date_optional_time||epoch_millis' };
// The event times besides @timestamp: parsed by OpenSearch's RFC 3339 parser, ~15x cheaper per
// value than java.time's strict_date_optional_time (0.2 vs 3.0 µs; date parsing was 12.5% of
// OpenSearch's indexing CPU for an egress document, and this format on two of its three dates cut
// OpenSearch's CPU per document by ~11%, on all three by ~18%: bench/lib/os-cost.ts, 2026-12-02,
// warm rounds side by side, date-rfc / base / v2-dates). It accepts every
// string the contracts' z.iso.datetime() does (the sink validates these fields before they
// land); it cannot be combined with epoch_millis, so a range query on these fields with a bare
// number needs `format: epoch_millis`. @timestamp keeps the default formats: every tool queries it.
const isoDate: Field = { type: 'date', format: 'rfc3339_lenient' };
// A malformed address must not cost the whole document in a SIEM: it lands, the value is kept in
// _source and listed under `_ignored`, where an operator can find it.
const ip: Field = { type: 'ip', ignore_malformed: true };
const obj = (properties: Record<string, Field>): Field => ({ properties });

/** Attribution skeleton shared by every source (D27), so `clawker-*` filters on agent/project work everywhere. */
const identity: Record<string, Field> = {
  attribution: keyword,
  agent: keyword,
  project: keyword,
  container_id: keyword,
  container_name: keyword,
  image: keyword,
};

const attributes: Record<SourceName, Record<string, Field>> = {
  egress: {
    ...identity,
    id: keyword,
    time: isoDate,
    node: keyword,
    kind: keyword,
    verdict: keyword,
    audit: bool,
    reason: keyword,
    rule_id: long,
    policy_id: long,
    // u64 values exceed `long`; they are identifiers, matched exactly, never summed.
    cgroup_id: keyword,
    socket_cookie: keyword,
    domain_hash: keyword,
    pid: long,
    tid: long,
    comm: keyword,
    family: keyword,
    l4_proto: keyword,
    l7_proto: keyword,
    dst_ip: ip,
    dst_port: integer,
    src_ip: ip,
    src_port: integer,
    ipv4_mapped: bool,
    dst_host: keyword,
    dst_host_stale: bool,
    bytes_in: long,
    bytes_out: long,
    duration_ms: { type: 'double' },
    sock_type: keyword,
    sock_protocol: integer,
    to_cgroup_id: keyword,
    suppressed_count: long,
    first_time: isoDate,
    last_time: isoDate,
  },
  dns: {
    ...identity,
    id: keyword,
    time: isoDate,
    node: keyword,
    cgroup_id: keyword,
    pid: long,
    comm: keyword,
    qname: keyword,
    qtype: keyword,
    rcode: keyword,
    // Answers may be CNAME targets as well as addresses: keyword keeps both searchable.
    answers: keyword,
    ttl: long,
    resolver_ip: ip,
    forged: bool,
    rejected: keyword,
  },
  overseer: {
    id: keyword,
    time: isoDate,
    kind: keyword,
    actor: keyword,
    reason: { type: 'text', fields: { keyword } },
    before_revision: long,
    after_revision: long,
    // Free-form objects: flat_object indexes every leaf without adding a mapping per key.
    subject: { type: 'flat_object' },
    detail: { type: 'flat_object' },
  },
};

/** Nested object mappings from dotted field names, as OpenSearch expands `a.b` in a document. */
function nest(fields: Record<string, Field>): Record<string, Field> {
  const out: Record<string, Field> = {};
  for (const [path, def] of Object.entries(fields)) {
    const parts = path.split('.');
    let level = out;
    for (const p of parts.slice(0, -1)) {
      const next = (level[p] ??= { properties: {} }) as { properties: Record<string, Field> };
      level = next.properties;
    }
    level[parts.at(-1)!] = def;
  }
  return out;
}

/**
 * The OTLP families (D26): Claude Code's stream `<prefix>claude`, and `<prefix>otel-*` for every other
 * sender. Their documents share the attribution skeleton; Claude Code's events get typed fields.
 */
export type OtelFamily = 'claude' | 'otel';
export const OTEL_FAMILIES: readonly OtelFamily[] = ['claude', 'otel'];

const otelCommon: Record<string, Field> = {
  ...identity,
  id: keyword,
  node: keyword,
  service_name: keyword,
  source_ip: ip,
  attribution_conflict: bool,
  event_name: keyword,
  trace_id: keyword,
  span_id: keyword,
  scope_name: keyword,
  scope_version: keyword,
  redacted: keyword,
};

/** Claude Code's event attributes (its monitoring docs): tool decisions, costs, tokens, models, API metadata. */
const claudeFields: Record<string, Field> = {
  'event.name': keyword,
  'event.timestamp': date,
  'event.sequence': long,
  'session.id': keyword,
  'prompt.id': keyword,
  'app.version': keyword,
  'organization.id': keyword,
  'user.account_uuid': keyword,
  'user.id': keyword,
  'user.email': keyword,
  'terminal.type': keyword,
  prompt_length: long,
  tool_name: keyword,
  success: keyword,
  decision: keyword,
  source: keyword,
  duration_ms: { type: 'double' },
  error: { type: 'text', fields: { keyword } },
  tool_parameters: { type: 'text' },
  tool_result_size_bytes: long,
  model: keyword,
  cost_usd: { type: 'double' },
  input_tokens: long,
  output_tokens: long,
  cache_read_tokens: long,
  cache_creation_tokens: long,
  status_code: keyword,
  attempt: long,
  speed: keyword,
};

const resourceFields: Record<string, Field> = {
  'service.name': keyword,
  'service.version': keyword,
  'service.namespace': keyword,
  'service.instance.id': keyword,
  'host.name': keyword,
  'host.arch': keyword,
  'os.type': keyword,
  'os.version': keyword,
  'container.id': keyword,
};

export function otelMappings(family: OtelFamily): Record<string, unknown> {
  return {
    // As for the event sources: a sender's other attributes stay in _source, unindexed, so no
    // sender can explode the mapping; the fields above are what filters and dashboards use.
    dynamic: false,
    _meta: { managed_by: 'sluice-sink', version: TEMPLATE_VERSION, source: family },
    properties: {
      '@timestamp': date,
      observedTimestamp: isoDate,
      body: { type: 'text' },
      severity: obj({ text: keyword, number: integer }),
      attributes: obj(nest(family === 'claude' ? { ...otelCommon, ...claudeFields } : otelCommon)),
      resource: obj({ attributes: obj(nest(resourceFields)) }),
    },
  };
}

/** Index patterns of a family: `claude` exactly, `otel-` as a prefix of every sender's stream. */
export function otelPatterns(prefix: string, family: OtelFamily): string[] {
  return family === 'claude' ? [`${prefix}claude`] : [`${prefix}otel-*`];
}

export function otelIndexTemplate(prefix: string, family: OtelFamily): Record<string, unknown> {
  return {
    index_patterns: otelPatterns(prefix, family),
    data_stream: {},
    priority: 200,
    version: TEMPLATE_VERSION,
    _meta: { managed_by: 'sluice-sink', version: TEMPLATE_VERSION },
    template: {
      settings: {
        number_of_shards: 1,
        auto_expand_replicas: '0-1',
        refresh_interval: '1s',
        // A sender's "12 tokens" where a number is mapped: the document lands, the value is listed under _ignored.
        'index.mapping.ignore_malformed': true,
      },
      mappings: otelMappings(family),
    },
  };
}

export function mappings(source: SourceName): Record<string, unknown> {
  return {
    // Unknown fields are kept in _source but not indexed: a newer producer never gets documents
    // rejected, and no producer can explode the mapping.
    dynamic: false,
    _meta: { managed_by: 'sluice-sink', version: TEMPLATE_VERSION, source },
    properties: {
      '@timestamp': date,
      observedTimestamp: isoDate,
      body: { type: 'text' },
      severity: obj({ text: keyword, number: integer }),
      attributes: obj(attributes[source]),
      resource: obj({ attributes: obj({ service: obj({ name: keyword }), host: obj({ name: keyword }) }) }),
    },
  };
}

export function dataStreamName(prefix: string, source: SourceName | (string & {})): string {
  return `${prefix}${source}`;
}

export function templateName(prefix: string, source: SourceName | OtelFamily): string {
  return `${prefix}${source}`;
}

export function indexTemplate(prefix: string, source: SourceName): Record<string, unknown> {
  return {
    index_patterns: [`${dataStreamName(prefix, source)}*`],
    data_stream: {},
    // Above the built-in templates, so our mapping wins for our names.
    priority: 200,
    version: TEMPLATE_VERSION,
    _meta: { managed_by: 'sluice-sink', version: TEMPLATE_VERSION },
    template: {
      settings: {
        number_of_shards: 1,
        // One replica once a second node exists; a single node stays green.
        auto_expand_replicas: '0-1',
        refresh_interval: '1s',
      },
      mappings: mappings(source),
    },
  };
}

/** Every leaf field path of a source's mapping (`attributes.agent`, `attributes.reason.keyword`, …). */
export function fieldPaths(source: SourceName): Set<string> {
  const out = new Set<string>();
  const walk = (props: Record<string, Field>, prefix: string): void => {
    for (const [name, def] of Object.entries(props)) {
      const path = prefix + name;
      if (def.properties) walk(def.properties as Record<string, Field>, `${path}.`);
      else out.add(path);
      if (def.fields) for (const sub of Object.keys(def.fields as object)) out.add(`${path}.${sub}`);
    }
  };
  walk((mappings(source) as { properties: Record<string, Field> }).properties, '');
  return out;
}
