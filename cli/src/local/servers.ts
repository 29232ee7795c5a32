// The real servers come from scripts/services.sh; the CLI never starts its own copies.
import { spawnSync } from 'node:child_process';
import { SERVICES_SH } from './paths.ts';

export function servers(verb: 'up' | 'down' | 'status', names: string[]): { ok: boolean; endpoints: Record<string, string> } {
  const r = spawnSync('bash', [SERVICES_SH, verb, ...names], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const endpoints: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) endpoints[m[1]!] = m[2]!;
  }
  return { ok: r.status === 0, endpoints };
}
