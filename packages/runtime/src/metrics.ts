// OpenTelemetry metrics exported in Prometheus format on the service's own HTTP server (the
// health server), so one port serves /metrics, /healthz and /readyz.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

export interface Metrics {
  meter: Meter;
  handle(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

export function createMetrics(service: string, node: string): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': node }),
    readers: [exporter],
  });
  metrics.setGlobalMeterProvider(provider);
  return {
    meter: provider.getMeter(service),
    handle: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => provider.shutdown(),
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
