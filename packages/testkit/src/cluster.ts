// The clusters of a cluster-tier run (scripts/services.sh up nats-cluster opensearch-cluster, on
// the private instance's ports) and the faults the tier injects into them: a node killed by its
// pid file, brought back by the same script that started it. Never a user's default ports.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './repo-paths.ts';
import { TestServersError } from './servers.ts';

const exec = promisify(execFile);

export const CLUSTER_VARS = ['NATS_CLUSTER_URL', 'OPENSEARCH_CLUSTER_URL'] as const;
export type ClusterVar = (typeof CLUSTER_VARS)[number];

// scripts/lib/ports.sh's defaults for the default instance's clusters.
const USER_FIRST_PORT: Record<ClusterVar, string> = { NATS_CLUSTER_URL: '14222', OPENSEARCH_CLUSTER_URL: '19201' };

/** A cluster's seed list (comma-separated URLs); throws unless the cluster tier's script exported it. */
export function clusterServer(name: ClusterVar, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[name];
  const hint = 'run the cluster tier through `pnpm test:cluster` (scripts/test.sh with the clusters up)';
  if (!v) throw new TestServersError(`${name} is not set: ${hint}`);
  if (new URL(v.split(',')[0]!).port === USER_FIRST_PORT[name]) throw new TestServersError(`${name}=${v} is the default instance's cluster: ${hint}`);
  return v;
}

/** A cluster node as services.sh names it: nats-c1..3, opensearch-c1..2. */
export type ClusterNode = `nats-c${1 | 2 | 3}` | `opensearch-c${1 | 2}`;

function runDir(): string {
  const d = process.env.SLUICE_RUN_DIR;
  if (!d) throw new TestServersError('SLUICE_RUN_DIR is not set: the cluster nodes are the private instance’s (scripts/test.sh)');
  return d;
}

export function clusterNodePid(node: ClusterNode): number {
  const pid = Number(readFileSync(join(runDir(), 'pids', `${node}.pid`), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${node}: no pid in its pid file`);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/.*\) /, '')[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** Kills the node (SIGKILL: a crash; SIGTERM: a stop) and waits until its process is gone. */
export async function killClusterNode(node: ClusterNode, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
  const pid = clusterNodePid(node);
  process.kill(pid, signal);
  const deadline = Date.now() + 90_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${node} (pid ${pid}) still alive 90 s after ${signal}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return pid;
}

/** Starts the node again through scripts/services.sh (waits until the script says it is healthy). */
export async function restartClusterNode(node: ClusterNode): Promise<void> {
  await exec('bash', [join(REPO_ROOT, 'scripts', 'services.sh'), 'up', node], { env: process.env, timeout: 300_000 });
}

/** Which nats-cN a JetStream server name (`sluice-c<port>-<i>`, scripts/servers/nats-cluster.sh) is. */
export function natsNodeOf(serverName: string): ClusterNode {
  const m = /-(\d)$/.exec(serverName);
  if (!m || !['1', '2', '3'].includes(m[1]!)) throw new Error(`not a nats-cluster server name: ${serverName}`);
  return `nats-c${m[1]}` as ClusterNode;
}
