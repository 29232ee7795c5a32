// OpenTelemetry for a service, through @opentelemetry/sdk-node configured by the standard OTEL_*
// variables. Metrics: always in Prometheus format on the service's own HTTP server (the health
// server: one port serves /metrics, /healthz and /readyz), and over OTLP as well when
// OTEL_METRICS_EXPORTER names otlp. Traces: off unless asked for (tracing.ts says when); then
// exported as OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_* say, sampled as OTEL_TRACES_SAMPLER(_ARG) say.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, type Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SyncContextManager } from './sync-context.ts';
import { tracingEnabled } from './tracing.ts';

export interface Metrics {
  meter: Meter;
  handle(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
  /** Whether this process exports traces (tracing.ts). */
  tracing: boolean;
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

export function createMetrics(service: string, node: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const readers: IMetricReader[] = [exporter];
  if (list(env.OTEL_METRICS_EXPORTER).includes('otlp')) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000);
    readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval > 0 ? interval : 60_000 }));
  }
  const resource = resourceFromAttributes({ 'service.name': service, 'host.name': node });
  const tracing = tracingEnabled(env);
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') {
    // The SDK would start nothing at all: Prometheus metrics are not optional, so they run on their own.
    const provider = new MeterProvider({ resource, readers: readers as never });
    metrics.setGlobalMeterProvider(provider);
    return { meter: provider.getMeter(service), handle: (req, res) => exporter.getMetricsRequestHandler(req, res), shutdown: () => provider.shutdown(), tracing: false };
  }
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    metricReaders: readers,
    // Logs stay pino's (stderr); the SDK must not start an OTLP log pipeline from the environment.
    logRecordProcessors: [],
    instrumentations: [],
    // No span processors: the SDK registers no tracer provider, and every span is the API's no-op.
    // Tracing: a synchronous context manager, not AsyncLocalStorage (sync-context.ts says why).
    ...(tracing ? { contextManager: new SyncContextManager() } : { spanProcessors: [] }),
  });
  sdk.start();
  return {
    meter: metrics.getMeterProvider().getMeter(service),
    handle: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => sdk.shutdown(),
    tracing,
  };
}

/**
 * The drop-accounting pair every stage exposes (P15): what it handled and what it lost, by reason.
 * Keeping them together makes "generated == delivered + dropped" checkable per stage.
 */
export function stageCounters(meter: Meter, stage: string) {
  const total = meter.createCounter('sluice_events_total', { description: 'Records handled, by stage' });
  const dropped = meter.createCounter('sluice_events_dropped_total', {
    description: 'Records lost, by stage and reason',
  });
  return {
    handled: (n = 1) => total.add(n, { stage }),
    dropped: (reason: string, n = 1) => dropped.add(n, { stage, reason }),
  };
}
