// learner: aggregates learn-mode traffic and proposes allowlist diffs.
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';

await runService({
  name: 'learner',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ readiness }) => {
    readiness.set('learner', true, 'skeleton');
    return { stop: [] };
  },
});
