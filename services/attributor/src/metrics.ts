// The attributor's own instruments, next to the shared stage counters (P15: every drop by reason).
import { stageCounters, type Metrics } from '@sluice/runtime';

type Meter = Metrics['meter'];

export interface AttributorMetrics {
  stage: ReturnType<typeof stageCounters>;
  attributed(attribution: string, n: number): void;
  published(n: number): void;
  /** A raw batch nak'ed for redelivery (publish_failed | handler_error): delayed, not lost. */
  retried(reason: string): void;
  redisError(op: string): void;
  /** Writes held in memory while Redis was down, replayed on reconnect. */
  redisDeferred(n: number): void;
  dockerEvent(action: string): void;
  cgroupScan(result: 'found' | 'not_found' | 'rate_limited'): void;
  lifecycle(event: string): void;
  /**
   * DNS names (dst_host): learned / rejected from DNS records, shared / shared_rejected read back
   * from other replicas, named / unnamed egress records that carried a domain_hash.
   */
  dnsNames(result: string, n: number): void;
  /** A label value not carried (label_too_long | label_not_unicode): the events keep their container, not the value. */
  labelDropped(label: string, reason: string): void;
}

export function createAttributorMetrics(
  meter: Meter,
  gauges: { redisUp: () => boolean; cachedContainers: () => number; redisPending: () => number },
): AttributorMetrics {
  const attributed = meter.createCounter('sluice_attributor_records_total', {
    description: 'Records enriched, by attribution (docker | registered | unknown)',
  });
  const published = meter.createCounter('sluice_attributor_messages_published_total', {
    description: 'NDJSON messages acknowledged by SLUICE_EVENTS',
  });
  const retried = meter.createCounter('sluice_attributor_batches_retried_total', {
    description: 'Raw batches handed back for redelivery, by reason (delayed, not lost)',
  });
  const redisErrors = meter.createCounter('sluice_attributor_redis_errors_total', {
    description: 'Redis operations that failed; the in-memory cache carried on',
  });
  const redisDeferred = meter.createCounter('sluice_attributor_redis_deferred_writes_total', {
    description: 'Identity writes kept in memory while Redis was unavailable',
  });
  const dockerEvents = meter.createCounter('sluice_attributor_docker_events_total', { description: 'Docker events handled' });
  const scans = meter.createCounter('sluice_attributor_cgroup_scans_total', {
    description: 'Cgroup tree scans for unknown cgroup ids, by result',
  });
  const lifecycle = meter.createCounter('sluice_attributor_lifecycle_published_total', {
    description: 'Container lifecycle messages published',
  });
  const dnsNames = meter.createCounter('sluice_attributor_dns_names_total', {
    description: 'DNS names: learned/rejected from DNS records, shared from other replicas, egress records named/unnamed',
  });
  const labelsDropped = meter.createCounter('sluice_attributor_label_values_dropped_total', {
    description: 'Label values not carried (too long, not Unicode), by label and reason; each one is in sluice.dlq.attributor',
  });
  meter
    .createObservableGauge('sluice_attributor_redis_up', { description: '1 when the shared identity store is reachable' })
    .addCallback((r) => r.observe(gauges.redisUp() ? 1 : 0));
  meter
    .createObservableGauge('sluice_attributor_cached_identities', { description: 'Identities in the in-memory cache' })
    .addCallback((r) => r.observe(gauges.cachedContainers()));
  meter
    .createObservableGauge('sluice_attributor_redis_pending_writes', { description: 'Writes waiting for Redis to return' })
    .addCallback((r) => r.observe(gauges.redisPending()));
  return {
    stage: stageCounters(meter, 'attributor'),
    attributed: (a, n) => n > 0 && attributed.add(n, { attribution: a }),
    published: (n) => published.add(n),
    retried: (reason) => retried.add(1, { reason }),
    redisError: (op) => redisErrors.add(1, { op }),
    redisDeferred: (n) => redisDeferred.add(n),
    dockerEvent: (action) => dockerEvents.add(1, { action }),
    cgroupScan: (result) => scans.add(1, { result }),
    lifecycle: (event) => lifecycle.add(1, { event }),
    dnsNames: (result, n) => n > 0 && dnsNames.add(n, { result }),
    labelDropped: (label, reason) => labelsDropped.add(1, { label, reason }),
  };
}
