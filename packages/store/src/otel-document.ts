// OTLP log records (OtlpLogEvent, from the otlp-receiver) → ss4o documents in the sender's own data
// stream (D26): Claude Code's in `<prefix>claude`, any other service's in `<prefix>otel-<service>`
// unless a mapping names its stream. The document keeps the OTel data model: the record's
// attributes under `attributes` next to Sluice's attribution skeleton (D27), the sender's resource
// under `resource.attributes`.
import { compileFastCheck, OtlpLogEvent } from '@sluice/contracts';
import type { ParsedBatch } from './parse.ts';

/** Stream suffix of Claude Code's events (service.name `claude-code`). */
export const CLAUDE_STREAM = 'claude';
/** Every other sender's stream suffix starts with this. */
export const OTEL_STREAM_PREFIX = 'otel-';

export const DEFAULT_OTEL_STREAMS: Readonly<Record<string, string>> = { 'claude-code': CLAUDE_STREAM };

/**
 * A service.name as an index-name part: lower case, `[a-z0-9_.-]` only (everything else becomes
 * `-`), at most 64 characters, never starting with `-`, `_` or `.`; `unknown` when nothing is left.
 */
export function sanitiseServiceName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-_.]+/, '')
    .slice(0, 64)
    .replace(/[-_.]+$/, '');
  return s === '' ? 'unknown' : s;
}

/** A configured stream suffix is `claude` or `otel-<name>`, the two families with index templates. */
export function otelStreamProblem(suffix: string): string | undefined {
  if (suffix === CLAUDE_STREAM) return undefined;
  if (!suffix.startsWith(OTEL_STREAM_PREFIX) || !/^otel-[a-z0-9][a-z0-9_.-]{0,63}$/.test(suffix)) {
    return `stream ${JSON.stringify(suffix)} must be "${CLAUDE_STREAM}" or "${OTEL_STREAM_PREFIX}<name>" (lower-case letters, digits, "_", "-", ".")`;
  }
  return undefined;
}

export function otelStreamOf(serviceName: string, mapping: Readonly<Record<string, string>>): string {
  return mapping[serviceName] ?? `${OTEL_STREAM_PREFIX}${sanitiseServiceName(serviceName)}`;
}

const SEVERITY_TEXT = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function severityOf(e: OtlpLogEvent): { text: string; number: number } {
  const number = e.severity_number ?? 0;
  const text = e.severity_text ?? (number > 0 ? SEVERITY_TEXT[Math.floor((number - 1) / 4)]! : 'UNSPECIFIED');
  return { text, number };
}

function bodyText(e: OtlpLogEvent): string {
  if (typeof e.body === 'string') return e.body;
  if (e.body !== undefined) return JSON.stringify(e.body);
  return e.event_name ?? '';
}

/** The event's own fields that join the record's attributes (the attribution skeleton first of all). */
const OWN = [
  'id', 'node', 'service_name', 'attribution', 'agent', 'project', 'container_id', 'container_name', 'image',
  'attribution_conflict', 'source_ip', 'event_name', 'trace_id', 'span_id', 'scope_name', 'scope_version', 'redacted',
] as const satisfies ReadonlyArray<keyof OtlpLogEvent>;

/**
 * The document. Built with plain loops, not object rest/spread: with a dozen keys that was most of
 * the sink's CPU per record. Sluice's fields are set after the sender's (the receiver already moved
 * clashing sender keys to `sender.*`).
 */
export function otelDocument(e: OtlpLogEvent, observed: string): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const k in e.attributes) attributes[k] = e.attributes[k];
  for (const k of OWN) {
    const v = e[k];
    if (v !== undefined) attributes[k] = v;
  }
  return {
    '@timestamp': e.time,
    observedTimestamp: e.observed_time ?? observed,
    body: bodyText(e),
    severity: severityOf(e),
    attributes,
    resource: { attributes: e.resource },
  };
}

function reason(err: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

// Accept-only check compiled from the schema (fast-check.ts): where it says yes, zod would return the
// record unchanged; every rejection and its reason still come from zod.
const fast = compileFastCheck(OtlpLogEvent);
/** Whether the OTLP records have their fast check (a test keeps it from being lost silently). */
export const otlpFastChecked = (): boolean => fast !== undefined;

/** One SLUICE_OTLP message (NDJSON of OtlpLogEvent) → documents, each with its own stream. */
export function parseOtlpBatch(payload: string, observed: string, mapping: Readonly<Record<string, string>>): ParsedBatch {
  const out: ParsedBatch = { docs: [], rejects: [] };
  const lines = payload.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.rejects.push({ kind: 'not_json', reason: `line ${i + 1}: ${(err as Error).message}`, raw, line: i + 1 });
      continue;
    }
    let e: OtlpLogEvent;
    if (fast?.(value)) e = value as OtlpLogEvent;
    else {
      const r = OtlpLogEvent.safeParse(value);
      if (!r.success) {
        out.rejects.push({ kind: 'schema', reason: `line ${i + 1}: ${reason(r.error)}`, raw, line: i + 1 });
        continue;
      }
      e = r.data;
    }
    const doc = otelDocument(e, observed);
    out.docs.push({ id: e.id, doc: doc as never, json: JSON.stringify(doc), stream: otelStreamOf(e.service_name, mapping) });
  }
  return out;
}
