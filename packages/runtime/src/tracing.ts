// Traces through Sluice itself: W3C trace context (traceparent/tracestate) travels in NATS message
// headers, so one raw batch's journey — reader publish, attributor, sink and learner — is one trace.
// Off by default: a process traces only when OTEL_TRACES_EXPORTER names an exporter (not `none`) or
// an OTLP endpoint is set for traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
// When off, the tracer and propagator are the API's no-ops: a span costs a few object allocations.
import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';

export { SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span };

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (exporters.length > 0) return !exporters.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

export const tracer = () => trace.getTracer('sluice');

const setter: TextMapSetter<MsgHdrs> = { set: (h, k, v) => h.set(k, v) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? [...h.keys()] : []),
  get: (h, k) => h?.get(k) || undefined,
};

/** Writes the trace context of `ctx` (default: the active one) into NATS headers. */
export function injectTrace(headers: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, setter);
}

/** The context a message's headers carry (the root context when none). */
export function extractTrace(headers: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), headers, getter);
}

/** A span for handling one message, child of the trace its headers carry. */
export function startMessageSpan(name: string, headers: MsgHdrs | undefined, attributes: Record<string, string | number> = {}, kind: SpanKind = SpanKind.CONSUMER): { span: Span; ctx: Context } {
  const parent = extractTrace(headers);
  const span = tracer().startSpan(name, { kind, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}
