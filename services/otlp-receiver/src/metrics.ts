// What the receiver took in and what it refused, by reason: every refusal is counted.
import type { Metrics } from '@sluice/runtime';
import { stageCounters } from '@sluice/runtime';

export type RefusalReason =
  | 'too_large'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'malformed'
  | 'rate_limited'
  | 'unavailable'
  | 'not_found'
  | 'method_not_allowed'
  | 'aborted';

export function receiverMetrics(meter: Metrics['meter']) {
  const requests = meter.createCounter('sluice_otlp_requests_total', { description: 'OTLP/HTTP requests, by outcome (accepted | refused)' });
  const refused = meter.createCounter('sluice_otlp_refused_total', { description: 'OTLP/HTTP requests refused, by reason' });
  const refusedRecords = meter.createCounter('sluice_otlp_refused_records_total', {
    description: 'Log records in refused requests (where they were decoded), by reason',
  });
  const records = meter.createCounter('sluice_otlp_records_total', { description: 'Log records accepted (stored in SLUICE_OTLP), by attribution' });
  const redacted = meter.createCounter('sluice_otlp_redacted_total', { description: 'Prompt/response content attributes dropped before storage (D28), by attribute' });
  const lookups = meter.createCounter('sluice_otlp_sender_lookup_failures_total', { description: 'Source-IP lookups the attributor did not answer' });
  const stage = stageCounters(meter, 'otlp');
  return {
    accepted(byAttribution: Map<string, number>): void {
      requests.add(1, { outcome: 'accepted' });
      for (const [attribution, n] of byAttribution) {
        records.add(n, { attribution });
        stage.handled(n);
      }
    },
    refused(reason: RefusalReason, recordCount = 0): void {
      requests.add(1, { outcome: 'refused' });
      refused.add(1, { reason });
      if (recordCount > 0) refusedRecords.add(recordCount, { reason });
    },
    redacted(counts: Map<string, number>): void {
      for (const [attribute, n] of counts) redacted.add(n, { attribute });
    },
    lookupFailed(): void {
      lookups.add(1);
    },
  };
}
export type ReceiverMetrics = ReturnType<typeof receiverMetrics>;
