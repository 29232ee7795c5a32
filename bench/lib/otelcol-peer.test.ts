import { describe, expect, it } from 'vitest';
import { metricSum, otelcolConfig } from './otelcol-peer.ts';

describe('otelcol peer', () => {
  it('sums a metric over its labels, with or without the _total suffix, and tells absent from zero', () => {
    const text = [
      '# HELP otelcol_receiver_accepted_log_records x',
      'otelcol_receiver_accepted_log_records{receiver="filelog",transport=""} 3000',
      'otelcol_receiver_accepted_log_records{receiver="other",transport=""} 5',
      'otelcol_exporter_sent_log_records_total{exporter="opensearch"} 0',
      'otelcol_receiver_accepted_log_records_bucket{le="1"} 9',
    ].join('\n');
    expect(metricSum(text, 'otelcol_receiver_accepted_log_records')).toBe(3005);
    expect(metricSum(text, 'otelcol_exporter_sent_log_records')).toBe(0);
    expect(metricSum(text, 'otelcol_nothing')).toBeUndefined();
  });

  it('feeds the file to the exporter it was built with, telemetry on the private port only', () => {
    const nop = JSON.parse(otelcolConfig({ file: '/x/e.ndjson', metricsPort: 4242, variant: 'nop', batch: 1000 }));
    expect(nop.service.pipelines.logs).toEqual({ receivers: ['filelog'], processors: ['batch'], exporters: ['nop'] });
    expect(nop.receivers.filelog.include).toEqual(['/x/e.ndjson']);
    expect(nop.service.telemetry.metrics.readers[0].pull.exporter.prometheus).toEqual({ host: '127.0.0.1', port: 4242 });
    const os = JSON.parse(otelcolConfig({ file: '/x', metricsPort: 1, variant: 'opensearch', opensearch: { url: 'http://127.0.0.1:9', index: 'p-otel' }, batch: 10 }));
    expect(os.exporters).toEqual({ opensearch: { http: { endpoint: 'http://127.0.0.1:9' }, logs_index: 'p-otel' } });
  });
});
