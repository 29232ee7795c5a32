// sink: writes events to OpenSearch data streams (or NDJSON files).
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';

await runService({
  name: 'sink',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ readiness }) => {
    readiness.set('sink', true, 'skeleton');
    return { stop: [] };
  },
});
