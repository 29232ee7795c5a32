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

/** The compiled service (`pnpm build`): node runs it as it is, nothing transpiles at start. */
export const serviceMain = (name: string): string => join(REPO_ROOT, 'services', name, 'dist', 'main.js');
export const serviceDir = (name: string): string => join(REPO_ROOT, 'services', name);
export const logFile = (runDir: string, name: string): string => join(runDir, 'logs', `svc-${name}.log`);
