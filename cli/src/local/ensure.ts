// Bring the local pipeline up (servers from scripts/services.sh, then the five services) and wait
// until every service is ready. Shared by `sluice up` and `sluice run`; already-running pieces are
// reused, so calling it again is cheap.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { say } from '../command.ts';
import { instance } from './instance.ts';
import { LOCAL_SERVICES, logFile, probe, startSupervisor, supervisorPid, type ServiceStatus } from './pipeline.ts';
import { HELPER } from './paths.ts';
import { readyz } from './ready.ts';
import { servers } from './servers.ts';

export interface EnsureOptions {
  opensearch: boolean;
  docker: boolean;
  timeoutMs: number;
  quiet?: boolean;
  /** Trust a pipeline that is already up and ready without re-running the server scripts (`sluice run`). */
  reuse?: boolean;
}

export interface PipelineState {
  ok: boolean;
  statuses: ServiceStatus[];
  endpoints: Record<string, string>;
}

export async function ensurePipeline(o: EnsureOptions): Promise<PipelineState> {
  const wanted = ['nats', 'redis', ...(o.opensearch ? ['opensearch'] : []), ...(o.docker ? ['docker'] : [])];
  const up = o.reuse ? await alreadyUp(wanted) : undefined;
  if (up) return up;
  if (!o.quiet) say(`servers: ${wanted.join(', ')}`);
  const srv = servers('up', wanted);
  if (!srv.ok) {
    say('a server failed to start (see the messages above)');
    return { ok: false, statuses: [], endpoints: srv.endpoints };
  }
  const env: Record<string, string> = {
    ...srv.endpoints,
    // No OpenSearch asked for: the sink's embedded NDJSON store is the default.
    OPENSEARCH_URL: srv.endpoints.OPENSEARCH_URL ?? '',
    SINK_DATA_DIR: join(instance.runDir, 'data', 'events'),
    READER_STATE_DIR: join(instance.runDir, 'data', 'bpf-reader'),
    // The policy service loads the programs, attaches them to the managed scopes and owns the maps.
    SLUICE_BPF_BIN: HELPER,
    SLUICE_BPF_PIN: instance.pinDir,
    SLUICE_MANAGED_CGROUPS: instance.scopes.join(','),
    // One node name for every local service, so `sluice run` can address this node's attributor.
    NODE_NAME: localNode(),
  };
  const sup = await startSupervisor(env);
  if (!o.quiet) say(`  supervisor: pid ${sup}`);
  const deadline = Date.now() + o.timeoutMs;
  let statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
  while (statuses.some((s) => !s.ready) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    statuses = await Promise.all(LOCAL_SERVICES.map((s) => probe(s)));
  }
  for (const s of statuses.filter((s) => !s.ready)) {
    const failing = Object.entries(s.checks).filter(([, c]) => !c.ok);
    say(
      `${s.name} is not ready (${failing.map(([k, c]) => `${k}: ${c.detail}`).join('; ') || s.lastExit || 'not answering'}); log: ${logFile(instance.runDir, s.name)}`,
    );
  }
  const ok = statuses.every((s) => s.ready);
  if (ok) writeFileSync(upFile(), `${JSON.stringify({ supervisor: sup, servers: wanted, endpoints: srv.endpoints } satisfies UpRecord)}\n`);
  return { ok, statuses, endpoints: srv.endpoints };
}

/** What the last successful ensure brought up: the fast path's proof that nothing needs starting. */
interface UpRecord {
  supervisor: number;
  servers: string[];
  endpoints: Record<string, string>;
}
const upFile = () => join(instance.runDir, 'up.json');

/**
 * The common case for `sluice run` after the first: everything is already up. Then the ~1 s of
 * scripts/services.sh health checks (a bash round per server) is skipped: the same supervisor
 * still runs, it was brought up with at least the servers asked for now, and every service
 * answers ready (their readiness includes their server connections, so a dead server shows here).
 * Anything else, or any doubt, falls back to the full path.
 */
async function alreadyUp(wanted: string[]): Promise<PipelineState | undefined> {
  let rec: UpRecord;
  try {
    rec = JSON.parse(readFileSync(upFile(), 'utf8')) as UpRecord;
  } catch {
    return undefined;
  }
  if (rec.supervisor !== supervisorPid() || !wanted.every((w) => rec.servers.includes(w))) return undefined;
  const ready = await Promise.all(LOCAL_SERVICES.map((s) => readyz(s.port, 1000)));
  return ready.every(Boolean) ? { ok: true, statuses: [], endpoints: rec.endpoints } : undefined;
}

/** The node name local services run under (NODE_NAME overrides the host name). */
export function localNode(): string {
  return instance.node;
}
