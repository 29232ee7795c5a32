// Each check probes one real prerequisite and says how to fix it. They run in parallel and never
// throw: a failure is a result.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { release } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { findMount } from '@sluice/runtime';
import { atLeast, kernelVersion, type CheckResult } from './check.ts';
import { KERNEL_MINIMUM } from './kernel-features.ts';
import { HELPER } from '../local/paths.ts';
import { cliNatsServers } from '../nats-servers.ts';

export interface DoctorEnv {
  natsUrl: string;
  redisUrl: string;
  opensearchUrl?: string;
  dockerSocket: string;
  pinDir: string;
}

const FIX_DEPS = 'run scripts/install-deps.sh';

/** The version string only, for the record: the `kernel: <feature>` checks probe the kernel itself. */
export function kernel(): CheckResult {
  const v = kernelVersion(release());
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  const min = KERNEL_MINIMUM.join('.');
  return {
    name: 'kernel',
    ok: btf,
    detail: `${release()}${btf ? ', BTF present' : ', no BTF'}; mainline ≥ ${min} has every feature (${atLeast(v, KERNEL_MINIMUM) ? 'this one is' : 'this one is older: see the probes below'})`,
    hint: 'kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF) is needed by the escape detector; the per-feature probes below decide the rest',
  };
}

export function privileges(): CheckResult {
  const root = process.getuid?.() === 0;
  return {
    name: 'privileges',
    ok: root,
    detail: root ? 'running as root' : `uid ${process.getuid?.()}`,
    hint: 'loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)',
  };
}

export function bpffs(): CheckResult {
  const mount = findMount('bpf');
  return {
    name: 'bpffs',
    ok: mount !== undefined,
    detail: mount ? `mounted at ${mount}` : 'not mounted',
    hint: 'mount -t bpf bpf /sys/fs/bpf',
  };
}

export function cgroup2(): CheckResult {
  const mount = findMount('cgroup2');
  return {
    name: 'cgroup2',
    ok: mount !== undefined,
    detail: mount ? `unified hierarchy at ${mount}` : 'no cgroup2 mount in /proc/self/mountinfo',
    hint: 'mount -t cgroup2 none /sys/fs/cgroup/unified (or boot with systemd.unified_cgroup_hierarchy=1)',
  };
}

/** The helper is built and runs: `sluice-bpf version` needs no pin dir and no privileges. */
export function helper(bin = HELPER): CheckResult {
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { name: 'helper', ok: false, detail: `${bin} not built`, hint: 'pnpm build (make -C bpf)' };
  }
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 5000 });
  const version = (r.stdout || r.stderr).trim().split('\n')[0] ?? '';
  return { name: 'helper', ok: r.status === 0, detail: `${bin}: ${version || `exit ${r.status}`}`, hint: 'pnpm build (an older build lacks `version`)' };
}

export function pinnedState(pinDir: string): CheckResult {
  if (!existsSync(pinDir)) {
    return {
      name: 'pinned state',
      ok: false,
      optional: true,
      detail: `${pinDir} absent: programs not loaded`,
      hint: 'sluice up (or sluice-bpf load --pin DIR) loads and pins them',
    };
  }
  const entries = readdirSync(pinDir);
  return { name: 'pinned state', ok: entries.length > 0, optional: true, detail: `${pinDir}: ${entries.length} pinned objects` };
}

export async function nats(url: string): Promise<CheckResult> {
  try {
    const nc = await connect({ servers: cliNatsServers(url), timeout: 2000, maxReconnectAttempts: 0 });
    try {
      const info = await (await jetstreamManager(nc)).getAccountInfo();
      return { name: 'nats', ok: true, detail: `${url}, JetStream on (${info.streams} streams)` };
    } catch (err) {
      return { name: 'nats', ok: false, detail: `${url}: JetStream unavailable (${String(err)})`, hint: 'start nats-server with -js' };
    } finally {
      await nc.close();
    }
  } catch (err) {
    return { name: 'nats', ok: false, detail: `${url}: ${String(err)}`, hint: 'scripts/services.sh up nats' };
  }
}

export function redis(url: string): Promise<CheckResult> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (r: CheckResult) => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(2000, () => done({ name: 'redis', ok: false, detail: `${url}: timeout`, hint: 'scripts/services.sh up redis' }));
    sock.on('error', (e) => done({ name: 'redis', ok: false, detail: `${url}: ${e.message}`, hint: 'scripts/services.sh up redis' }));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) =>
      done({ name: 'redis', ok: d.toString().startsWith('+PONG'), detail: `${url}: ${d.toString().trim()}` }),
    );
  });
}

export async function opensearch(url: string | undefined): Promise<CheckResult> {
  if (!url) {
    return { name: 'opensearch', ok: true, optional: true, detail: 'not configured: the sink writes NDJSON files' };
  }
  try {
    const r = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { status?: string; number_of_nodes?: number };
    return {
      name: 'opensearch',
      ok: body.status === 'green' || body.status === 'yellow',
      optional: true,
      detail: `${url}: ${body.status}, ${body.number_of_nodes} node(s)`,
    };
  } catch (err) {
    return { name: 'opensearch', ok: false, optional: true, detail: `${url}: ${String(err)}`, hint: 'scripts/services.sh up opensearch' };
  }
}

export function docker(socketPath: string): Promise<CheckResult> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      resolve({ name: 'docker', ok: res.statusCode === 200, optional: true, detail: `${socketPath}: HTTP ${res.statusCode}` });
      res.resume();
    });
    req.on('error', (e) =>
      resolve({ name: 'docker', ok: false, optional: true, detail: `${socketPath}: ${e.message}`, hint: 'scripts/services.sh up docker' }),
    );
    req.end();
  });
}

/**
 * Records carry kernel boot-clock timestamps converted with (wall − boot); a wall clock that steps
 * while we run would skew every event time, so measure the offset twice and compare.
 */
export async function clock(): Promise<CheckResult> {
  const offset = () => Date.now() * 1e6 - Number(process.hrtime.bigint());
  const a = offset();
  await new Promise((r) => setTimeout(r, 200));
  const drift = Math.abs(offset() - a) / 1e6;
  const year = new Date().getUTCFullYear();
  return {
    name: 'clock',
    ok: drift < 50 && year >= 2024,
    detail: `wall clock ${new Date().toISOString()}, offset drift ${drift.toFixed(2)} ms over 200 ms`,
    hint: 'sync the clock (NTP); event times are derived from it',
  };
}
