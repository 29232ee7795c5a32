// attributor: attaches Docker labels to raw records and publishes SLUICE_EVENTS.
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';

await runService({
  name: 'attributor',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ readiness }) => {
    readiness.set('attributor', true, 'skeleton');
    return { stop: [] };
  },
});
