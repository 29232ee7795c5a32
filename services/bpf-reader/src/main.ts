// bpf-reader: drains the kernel ring buffer and publishes raw batches to SLUICE_RAW.
import { runService } from '@sluice/runtime';
import { DEFAULT_METRICS_PORT, env } from './config.ts';
import { SERVICE, startReader } from './run.ts';

await runService({ name: SERVICE, env, defaultMetricsPort: DEFAULT_METRICS_PORT, start: startReader });
