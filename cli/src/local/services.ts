// The services of a local instance and where each one listens for /metrics and /readyz.
import { join } from 'node:path';
import type { Instance } from './instance.ts';
import { REPO_ROOT } from './paths.ts';

export interface LocalService {
  name: string;
  port: number;
}

export const SERVICE_NAMES = ['bpf-reader', 'attributor', 'policy', 'learner', 'sink', 'otlp-receiver'] as const;

export function localServices(i: Pick<Instance, 'metricsPortBase'>): LocalService[] {
  return SERVICE_NAMES.map((name, k) => ({ name, port: i.metricsPortBase + k }));
}

/**
 * Node's flags for a service, wherever it is launched (the supervisor, compose's `command`, the
 * benches). The attributor renders a raw batch of up to 4,000 records (READER_BATCH_RECORDS) at a
 * time: a young generation of V8's default size (16 MiB semi-spaces) is scavenged several times a
 * batch and promotes what is still live, so it gets room for a few batches (measured in `pnpm bench
 * attributor`, CPU and RSS side by side; README).
 */
const NODE_ARGS: Partial<Record<(typeof SERVICE_NAMES)[number], readonly string[]>> = {
  attributor: ['--max-semi-space-size=64'],
};

export const serviceNodeArgs = (name: string): string[] => [...(NODE_ARGS[name as (typeof SERVICE_NAMES)[number]] ?? [])];

/** The compiled service (`pnpm build`): node runs it as it is, nothing transpiles at start. */
export const serviceMain = (name: string): string => join(REPO_ROOT, 'services', name, 'dist', 'main.js');
export const serviceDir = (name: string): string => join(REPO_ROOT, 'services', name);
export const logFile = (runDir: string, name: string): string => join(runDir, 'logs', `svc-${name}.log`);
