// A decoded ExportLogsServiceRequest → the OtlpLogEvent lines published for it: one per log record,
// with its resource's attribution, prompt content dropped (D28), timestamps and ids in the forms the
// documents use. Pure: the caller looked the sender up and chose the request id.
import type { OtlpLogEvent, OtlpValue } from '@sluice/contracts';
import type { AttributionFields } from './attribution.ts';
import type { PbExportLogsServiceRequest } from './proto.ts';
import type { Redactor } from './redact.ts';
import { anyValue, hex, keyValues, nanosToMs } from './values.ts';

/**
 * Top-level fields of the stored `attributes` that Sluice itself sets (the attribution skeleton of
 * every clawker-* stream, D27). A sender's attribute of the same name, or under it (`agent.x`),
 * moves to `sender.<name>`: it could neither override the attribution nor clash with its mapping.
 */
export const RESERVED = new Set([
  'id', 'time', 'node', 'attribution', 'agent', 'project', 'container_id', 'container_name', 'image',
  'attribution_conflict', 'source_ip', 'event_name', 'trace_id', 'span_id', 'scope_name', 'scope_version', 'redacted', 'sender',
]);

export interface BuildContext {
  requestId: string;
  node: string;
  sourceIp: string;
  receivedMs: number;
  redactor: Redactor;
  /** Event names whose body is content (a prompt or a reply) unless it is just the event's name. */
  contentEvents: ReadonlySet<string>;
  attribution: (resource: Record<string, OtlpValue>) => AttributionFields;
}

export interface Built {
  events: OtlpLogEvent[];
  /** Dropped attribute (by the configured name it matched) → how many times (for the counter). */
  redacted: Map<string, number>;
}

export function countRecords(req: PbExportLogsServiceRequest): number {
  let n = 0;
  for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

function moveReserved(attrs: Record<string, OtlpValue>): Record<string, OtlpValue> {
  let out: Record<string, OtlpValue> | undefined;
  for (const key of Object.keys(attrs)) {
    const dot = key.indexOf('.');
    if (!RESERVED.has(dot < 0 ? key : key.slice(0, dot))) continue;
    out ??= { ...attrs };
    out[`sender.${key}`] = out[key]!;
    delete out[key];
  }
  return out ?? attrs;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function buildEvents(req: PbExportLogsServiceRequest, ctx: BuildContext): Built {
  const events: OtlpLogEvent[] = [];
  const redacted = new Map<string, number>();
  const received = iso(ctx.receivedMs);
  let index = 0;
  for (const rl of req.resourceLogs ?? []) {
    const resource = keyValues(rl.resource?.attributes);
    const who = ctx.attribution(resource);
    const serviceName = typeof resource['service.name'] === 'string' && resource['service.name'] !== '' ? resource['service.name'] : 'unknown_service';
    for (const sl of rl.scopeLogs ?? []) {
      const scopeName = sl.scope?.name || undefined;
      const scopeVersion = sl.scope?.version || undefined;
      for (const lr of sl.logRecords ?? []) {
        const attrs = keyValues(lr.attributes);
        const dropped = ctx.redactor.redact(attrs);
        let body: OtlpValue | undefined = lr.body ? anyValue(lr.body) : undefined;
        const eventName = lr.eventName || (typeof attrs['event.name'] === 'string' ? attrs['event.name'] : undefined);
        if (body !== null && typeof body === 'object' && !Array.isArray(body)) ctx.redactor.redact(body, dropped, 'body.');
        if (body !== undefined && eventName !== undefined && ctx.contentEvents.has(eventName) && body !== eventName) {
          body = undefined;
          dropped.push('body');
        }
        for (const d of dropped) {
          const label = ctx.redactor.labelOf(d);
          redacted.set(label, (redacted.get(label) ?? 0) + 1);
        }
        const timeMs = nanosToMs(lr.timeUnixNano);
        const observedMs = nanosToMs(lr.observedTimeUnixNano);
        const ev: OtlpLogEvent = {
          id: `${ctx.requestId}-${index++}`,
          time: iso(timeMs ?? observedMs ?? ctx.receivedMs),
          observed_time: observedMs !== undefined ? iso(observedMs) : received,
          node: ctx.node,
          service_name: serviceName,
          ...who,
          source_ip: ctx.sourceIp,
          attributes: moveReserved(attrs),
          resource,
        };
        if (lr.severityText) ev.severity_text = lr.severityText;
        if (lr.severityNumber && lr.severityNumber > 0 && lr.severityNumber <= 24) ev.severity_number = lr.severityNumber;
        if (body !== undefined) ev.body = body;
        if (eventName !== undefined) ev.event_name = eventName;
        const traceId = hex(lr.traceId, 16);
        const spanId = hex(lr.spanId, 8);
        if (traceId) ev.trace_id = traceId;
        if (spanId) ev.span_id = spanId;
        if (scopeName) ev.scope_name = scopeName;
        if (scopeVersion) ev.scope_version = scopeVersion;
        if (dropped.length > 0) ev.redacted = dropped;
        events.push(ev);
      }
    }
  }
  return { events, redacted };
}
