// The start race, measured as an agent meets it: labelled containers in the managed scope whose
// very first instruction connects to a destination their policy allows. Each container's exit code
// says whether that first connect got through. Host network and loopback destinations: the cgroup
// hooks judge by cgroup, not by network namespace, and no traffic leaves the machine.
import Docker from 'dockerode';

export interface StartRaceOptions {
  docker: Docker;
  image: string;
  /** cgroup parent inside the managed scope, e.g. /sluice-test-x/agents */
  cgroupParent: string;
  labels: Record<string, string>;
  host: string;
  port: number;
  count: number;
  /** Docker runtime: 'sluice' (the wrapper that closes the race) or undefined for runc. */
  runtime?: string;
  concurrency?: number;
}

export interface StartRaceResult {
  attempted: number;
  connected: number;
  /** exit code → how many containers ended with it (1: the connect failed, e.g. EPERM). */
  exits: Record<string, number>;
  /** docker run → container exit, per container, ms */
  durationsMs: number[];
}

async function one(o: StartRaceOptions, i: number): Promise<{ code: number; ms: number }> {
  const t0 = performance.now();
  const c = await o.docker.createContainer({
    Image: o.image,
    // The connect is the first thing the container does; stdin closed so nc ends after connecting.
    Cmd: ['nc', '-w', '3', o.host, String(o.port)],
    Labels: { ...o.labels, 'sluice.start-race': String(i) },
    HostConfig: {
      NetworkMode: 'host',
      CgroupParent: o.cgroupParent,
      ...(o.runtime ? { Runtime: o.runtime } : {}),
      AutoRemove: false,
    },
  });
  try {
    await c.start();
    const r = (await c.wait()) as { StatusCode: number };
    return { code: r.StatusCode, ms: performance.now() - t0 };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

export async function startRace(o: StartRaceOptions): Promise<StartRaceResult> {
  const res: StartRaceResult = { attempted: 0, connected: 0, exits: {}, durationsMs: [] };
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      const i = next++;
      const r = await one(o, i);
      res.attempted++;
      if (r.code === 0) res.connected++;
      res.exits[String(r.code)] = (res.exits[String(r.code)] ?? 0) + 1;
      res.durationsMs.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  return res;
}

/** The engine the environment names (DOCKER_HOST=unix://…, exported by scripts/test.sh). */
export function dockerClient(dockerHost: string): Docker {
  return new Docker({ socketPath: dockerHost.replace(/^unix:\/\//, '') });
}

/** Does the engine know the sluice runtime (scripts/services.sh's dockerd registers it)? */
export async function hasRuntime(docker: Docker, name: string): Promise<boolean> {
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
  return Object.keys(info.Runtimes ?? {}).includes(name);
}
