// The `sluice` CLI of this checkout, run as an operator runs it, against the private instance the
// environment names (scripts/test.sh / scripts/bench.sh export it): never the user's .run/.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-paths.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sluiceCli(args: string[], opts: { timeoutMs?: number; input?: string } = {}): CliResult {
  if (!process.env.SLUICE_RUN_DIR || !process.env.SLUICE_PRIVATE_SERVERS) {
    throw new Error('sluiceCli: no private instance in the environment (SLUICE_RUN_DIR, SLUICE_PRIVATE_SERVERS): run through scripts/test.sh or pnpm bench');
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli', 'src', 'main.ts'), ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 240_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
