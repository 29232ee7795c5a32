// The sink's counters, on top of the shared stage pair (P15): created documents are `handled`,
// rejections are `dropped` by reason (and also DLQ'd, so a drop is never silent *and* never lost).
import type { Metrics } from '@sluice/runtime';
import { stageCounters } from '@sluice/runtime';

type Meter = Metrics['meter'];

export interface SinkCounters {
  created(n?: number): void;
  duplicate(n?: number): void;
  rejected(kind: string, n?: number): void;
  retried(n: number): void;
  dlq(n: number): void;
  acked(): void;
  bulk(ok: boolean, ms?: number, docs?: number): void;
}

export function sinkCounters(meter: Meter): SinkCounters {
  const stage = stageCounters(meter, 'sink');
  const docs = meter.createCounter('sluice_sink_documents_total', { description: 'Documents by outcome' });
  const acks = meter.createCounter('sluice_sink_messages_acked_total', { description: 'NATS messages acked' });
  const bulks = meter.createCounter('sluice_sink_bulk_requests_total', { description: 'Bulk requests by result' });
  const latency = meter.createHistogram('sluice_sink_bulk_duration_ms', { description: 'Bulk request latency', unit: 'ms' });
  const size = meter.createHistogram('sluice_sink_bulk_docs', { description: 'Documents per bulk request' });
  return {
    created: (n = 1) => {
      stage.handled(n);
      docs.add(n, { outcome: 'created' });
    },
    duplicate: (n = 1) => docs.add(n, { outcome: 'duplicate' }),
    rejected: (kind, n = 1) => {
      stage.dropped(kind, n);
      docs.add(n, { outcome: 'rejected' });
    },
    retried: (n) => docs.add(n, { outcome: 'retried' }),
    dlq: (n) => docs.add(n, { outcome: 'dlq' }),
    acked: () => acks.add(1),
    bulk: (ok, ms, n) => {
      bulks.add(1, { result: ok ? 'ok' : 'failed' });
      if (ms !== undefined) latency.record(ms);
      if (n !== undefined) size.record(n);
    },
  };
}
