// One local Sluice instance: where its state lives, its ports, its kernel pin dir and managed
// scope, and its node name. The default instance (.run/, the well-known ports, /sys/fs/bpf/sluice,
// /sluice) is what an operator runs; the test suite runs a private one (SLUICE_RUN_DIR with a
// ports.env written by scripts/services.sh, its own pin dir, scope and node name), so the two never
// share a server, a stream, a map or a cgroup.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '@sluice/runtime';
import { env as cliEnv } from './env.ts';
import { REPO_ROOT } from './paths.ts';

export interface Instance {
  runDir: string;
  /** First of the services' metrics ports (bpf-reader, attributor, policy, learner, sink, otlp-receiver). */
  metricsPortBase: number;
  natsUrl: string;
  /** The otlp-receiver's OTLP/HTTP port (4318; a private instance's own from ports.env). */
  otlpPort: number;
  pinDir: string;
  /** Managed scopes relative to the cgroup2 mount; `sluice run` puts commands under the first. */
  scopes: string[];
  node: string;
}

/** KEY=VALUE lines (scripts/services.sh's ports.env). */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim();
  }
  return vars;
}

export function loadInstance(env: NodeJS.ProcessEnv = process.env): Instance {
  const runDir = env.SLUICE_RUN_DIR ?? join(REPO_ROOT, '.run');
  const portsFile = join(runDir, 'ports.env');
  // The environment wins over the file, as it does for every other setting.
  const v = { ...(existsSync(portsFile) ? parseEnvFile(readFileSync(portsFile, 'utf8')) : {}), ...env };
  const port = (key: string, dflt: number): number => {
    const raw = v[key];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${key}=${JSON.stringify(raw)}: expected a port number 1-65535`);
    return n;
  };
  const c = parseEnv('sluice', cliEnv, v);
  return {
    runDir,
    metricsPortBase: c.SLUICE_METRICS_PORT_BASE,
    natsUrl: c.NATS_URL ?? `nats://127.0.0.1:${port('SLUICE_NATS_PORT', 4222)}`,
    otlpPort: port('OTLP_PORT', port('SLUICE_OTLP_PORT', 4318)),
    pinDir: c.SLUICE_BPF_PIN,
    scopes: c.SLUICE_MANAGED_CGROUPS.split(',').map((s) => s.trim()).filter(Boolean),
    node: c.NODE_NAME ?? hostname(),
  };
}

export const instance = loadInstance();
