// bpf-reader: drains the kernel ring buffer and publishes raw batches to SLUICE_RAW.
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';

await runService({
  name: 'bpf-reader',
  env,
  defaultMetricsPort: DEFAULT_METRICS_PORT,
  start: async ({ readiness }) => {
    readiness.set('bpf-reader', true, 'skeleton');
    return { stop: [] };
  },
});
