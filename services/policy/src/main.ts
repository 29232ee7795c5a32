// policy: validates allowlists and syncs them into the pinned BPF maps.
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';

await runService({
  name: 'policy',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ readiness }) => {
    readiness.set('policy', true, 'skeleton');
    return { stop: [] };
  },
});
