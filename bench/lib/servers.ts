// The pids of the servers that scripts/services.sh started (its pid files, under SLUICE_RUN_DIR
// when the servers are a private instance), so a benchmark can charge their CPU to the work it
// drove through them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@sluice/testkit';

/** pid of the server `name` (nats, redis, opensearch, …) started by services.sh, if it runs. */
export function serverPid(name: string): number | undefined {
  const f = join(process.env.SLUICE_RUN_DIR ?? join(REPO_ROOT, '.run'), 'pids', `${name}.pid`);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
}
