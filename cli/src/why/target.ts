// `sluice why <target>`: what the operator names (a container id or name, an agent, a cgroup id,
// a pid) → the workload whose denials to show. Parsing is pure; resolving reads Docker and /proc.
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { findMount } from '@sluice/runtime';
import { UsageError } from '../command.ts';

export type TargetSpec =
  | { kind: 'container'; ref: string }
  | { kind: 'agent'; name: string }
  | { kind: 'cgroup'; id: string }
  | { kind: 'pid'; pid: number }
  /** A bare word: a container when Docker knows it, else an agent name. */
  | { kind: 'word'; word: string }
  /** A bare number: a pid when that process exists, else a cgroup id. */
  | { kind: 'number'; value: string };

/** What selects the workload's events. Any field set must match. */
export interface Workload {
  /** How the target was resolved, for the operator (stderr). */
  described: string;
  cgroup_id?: string;
  container_id?: string;
  project?: string;
  agent?: string;
}

export function parseTarget(text: string): TargetSpec {
  const t = text.trim();
  const m = /^(container|agent|cgroup|pid):(.*)$/.exec(t);
  if (m) {
    const [, kind, rest] = m as unknown as [string, string, string];
    if (rest === '') throw new UsageError(`why: "${t}": nothing after "${kind}:"`);
    if (kind === 'cgroup' && !/^\d{1,20}$/.test(rest)) throw new UsageError(`why: "${t}": a cgroup id is a decimal number (the cgroup directory's inode)`);
    if (kind === 'pid' && !/^\d{1,10}$/.test(rest)) throw new UsageError(`why: "${t}": a pid is a decimal number`);
    if (kind === 'container') return { kind, ref: rest };
    if (kind === 'agent') return { kind, name: rest };
    if (kind === 'cgroup') return { kind, id: rest };
    return { kind: 'pid', pid: Number(rest) };
  }
  if (t === '') throw new UsageError('why: name a container, agent, cgroup id or pid');
  return /^\d{1,20}$/.test(t) ? { kind: 'number', value: t } : { kind: 'word', word: t };
}

/** The unified-hierarchy path from /proc/<pid>/cgroup text (the `0::` line). */
export function unifiedPath(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  const path = line?.slice(3).trim();
  return path ? path : undefined;
}

/** A process's cgroup id: the inode of its cgroup2 directory, as the kernel's records carry it. */
export function cgroupOfPid(pid: number): { id: string; path: string } {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch (err) {
    throw new UsageError(`why: pid ${pid}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such process' : (err as Error).message}`, 1);
  }
  const path = unifiedPath(text);
  const mount = findMount('cgroup2');
  if (!path || !mount) throw new UsageError(`why: pid ${pid} has no cgroup v2 membership (no 0:: line or no cgroup2 mount)`, 1);
  return { id: statSync(join(mount, path), { bigint: true }).ino.toString(), path };
}

export interface ContainerInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  pid: number;
}

/** GET /containers/<ref>/json over the engine socket: undefined when Docker does not know `ref`. */
export function inspectContainer(socketPath: string, ref: string): Promise<ContainerInfo | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/containers/${encodeURIComponent(ref)}/json`, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined);
        if (res.statusCode !== 200) return reject(new Error(`docker: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
        const j = JSON.parse(body) as { Id: string; Name: string; Config?: { Labels?: Record<string, string> | null }; State?: { Pid?: number } };
        resolve({ id: j.Id, name: j.Name.replace(/^\//, ''), labels: j.Config?.Labels ?? {}, pid: j.State?.Pid ?? 0 });
      });
    });
    req.on('timeout', () => req.destroy(new Error('docker: no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

export interface ResolveOptions {
  dockerSocket: string;
  agentLabel: string;
  projectLabel: string;
  /** Narrows an agent name that several projects use. */
  project?: string | undefined;
}

function fromContainer(c: ContainerInfo, o: ResolveOptions): Workload {
  const project = c.labels[o.projectLabel];
  const agent = c.labels[o.agentLabel];
  let cgroup: string | undefined;
  if (c.pid > 0) {
    try {
      cgroup = cgroupOfPid(c.pid).id;
    } catch {
      // Exited between inspect and now: the container id still selects its events.
    }
  }
  return {
    described: `container ${c.name} (${c.id.slice(0, 12)})${project !== undefined ? ` project ${JSON.stringify(project)}` : ''}${agent !== undefined ? ` agent ${JSON.stringify(agent)}` : ''}${cgroup ? ` cgroup ${cgroup}` : ''}`,
    container_id: c.id,
    ...(cgroup ? { cgroup_id: cgroup } : {}),
    ...(project !== undefined ? { project } : {}),
    ...(agent !== undefined ? { agent } : {}),
  };
}

export async function resolveTarget(spec: TargetSpec, o: ResolveOptions): Promise<Workload> {
  const agent = (name: string): Workload => ({
    described: `agent ${JSON.stringify(name)}${o.project !== undefined ? ` in project ${JSON.stringify(o.project)}` : ''}`,
    agent: name,
    ...(o.project !== undefined ? { project: o.project } : {}),
  });
  const byPid = (pid: number): Workload => {
    const cg = cgroupOfPid(pid);
    return { described: `pid ${pid}: cgroup ${cg.id} (${cg.path})`, cgroup_id: cg.id };
  };
  switch (spec.kind) {
    case 'agent':
      return agent(spec.name);
    case 'cgroup':
      return { described: `cgroup ${spec.id}`, cgroup_id: spec.id };
    case 'pid':
      return byPid(spec.pid);
    case 'number': {
      const pid = Number(spec.value);
      let exists = false;
      try {
        exists = pid > 0 && pid < 2 ** 32 && statSync(`/proc/${pid}`).isDirectory();
      } catch {
        exists = false;
      }
      return exists ? byPid(pid) : { described: `cgroup ${spec.value} (no process ${spec.value}; say pid: or cgroup: to be explicit)`, cgroup_id: spec.value };
    }
    case 'container': {
      const c = await inspectContainer(o.dockerSocket, spec.ref).catch((err: Error) => {
        throw new UsageError(`why: ${err.message} (${o.dockerSocket})`, 1);
      });
      if (!c) throw new UsageError(`why: Docker knows no container ${JSON.stringify(spec.ref)}`, 1);
      return fromContainer(c, o);
    }
    case 'word': {
      // Docker down is not an error here: the word may well be an agent name.
      const c = await inspectContainer(o.dockerSocket, spec.word).catch(() => undefined);
      return c ? fromContainer(c, o) : agent(spec.word);
    }
  }
}

/** Does event `e` belong to the workload? */
export function ofWorkload(w: Workload, e: { cgroup_id: string; container_id?: string | undefined; project?: string | undefined; agent?: string | undefined }): boolean {
  if (w.container_id !== undefined) {
    // A container's events carry its id; one recorded before the attributor knew it carries only its cgroup.
    return e.container_id === w.container_id || (e.container_id === undefined && w.cgroup_id !== undefined && e.cgroup_id === w.cgroup_id);
  }
  return (
    (w.cgroup_id === undefined || e.cgroup_id === w.cgroup_id) &&
    (w.project === undefined || e.project === w.project) &&
    (w.agent === undefined || e.agent === w.agent)
  );
}
