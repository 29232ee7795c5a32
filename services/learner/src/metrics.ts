// The learner's counters: the shared stage pair (sluice_events_total / _dropped_total with
// stage="learner") plus what it filtered out on purpose, kept apart so drops mean loss only.
import { stageCounters, type Metrics } from '@sluice/runtime';

export interface LearnerMetrics {
  handled(n?: number): void;
  dropped(reason: string, n?: number): void;
  skipped(reason: string, n?: number): void;
  applied(n: number): void;
}

export function learnerMetrics(metrics: Metrics): LearnerMetrics {
  const stage = stageCounters(metrics.meter, 'learner');
  const skipped = metrics.meter.createCounter('sluice_learner_skipped_total', {
    description: 'Messages or events the learner filtered out on purpose (no session, duplicate, not a learnable verdict), by reason',
  });
  const applied = metrics.meter.createCounter('sluice_learner_applied_total', { description: 'Events recorded into a learn session' });
  return {
    handled: (n = 1) => stage.handled(n),
    dropped: (reason, n = 1) => stage.dropped(reason, n),
    skipped: (reason, n = 1) => skipped.add(n, { reason }),
    applied: (n) => applied.add(n),
  };
}
