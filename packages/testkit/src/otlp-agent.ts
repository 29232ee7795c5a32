// An agent container that speaks OTLP: sluice/base:node<N> (bookworm + the host's node, built by
// scripts/build-base-images.sh from its cached rootfs when missing) running the OTel SDK's standard
// OTLP/HTTP protobuf log exporter (bin/otlp-send-logs.mjs) from this checkout, mounted read-only
// at its own path so pnpm's symlinks resolve. It sets no agent/project resource attributes: who it
// is comes from its labels, found by its source IP.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { REPO_ROOT } from './repo-paths.ts';

const run = promisify(execFile);
export const OTLP_CLIENT = join(REPO_ROOT, 'packages', 'testkit', 'bin', 'otlp-send-logs.mjs');

export function nodeImage(): string {
  return `sluice/base:node${process.versions.node.split('.')[0]}`;
}

/** The node image, built when missing (seconds from the cached debootstrap rootfs). */
export async function ensureNodeImage(docker: Docker): Promise<string> {
  const image = nodeImage();
  try {
    await docker.getImage(image).inspect();
  } catch {
    await run('bash', [join(REPO_ROOT, 'scripts', 'build-base-images.sh')], { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
  }
  return image;
}

/** The host as containers on the default bridge reach it (its gateway address). */
export async function bridgeGateway(docker: Docker): Promise<string> {
  const net = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> } };
  const gw = net.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
  if (!gw) throw new Error('the default bridge network has no gateway address');
  return gw;
}

export interface OtlpAgentRun {
  id: string;
  ip: string;
  exitCode: number;
  logs: string;
}

/**
 * Start a labelled container that waits for `/tmp/go` before sending (so the test can see it is
 * known to the attributor first, as a long-running agent is), then sends and exits. `go()` releases it.
 */
export async function startOtlpAgent(
  docker: Docker,
  o: { image: string; labels: Record<string, string>; env: Record<string, string> },
): Promise<{ id: string; ip: string; go: () => Promise<OtlpAgentRun> }> {
  const c = await docker.createContainer({
    Image: o.image,
    Cmd: ['bash', '-c', `while [ ! -e /tmp/go ]; do sleep 0.1; done; exec node ${OTLP_CLIENT}`],
    Labels: o.labels,
    Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
    HostConfig: { Binds: [`${REPO_ROOT}:${REPO_ROOT}:ro`], CapDrop: ['ALL'] },
  });
  await c.start();
  const info = await c.inspect();
  const ip = (info.NetworkSettings as unknown as { IPAddress: string }).IPAddress;
  return {
    id: c.id,
    ip,
    go: async () => {
      const ex = await c.exec({ Cmd: ['touch', '/tmp/go'] });
      await ex.start({});
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      const logs = (await c.logs({ stdout: true, stderr: true })).toString('latin1');
      // Exited agents were left behind, two a suite run (docker ps -a): gone once read.
      await c.remove({ force: true }).catch(() => undefined);
      return { id: c.id, ip, exitCode: StatusCode, logs };
    },
  };
}
