// From `docker inspect` to what Sluice records about a container. Pure: the Docker client and
// the cgroup lookup live at the edges (docker-source.ts, cgroup.ts).
import { labelValueProblem, type LabelProblem } from '@sluice/contracts';

/** The parts of Docker's ContainerInspectResponse we read (all optional: Docker versions differ). */
export interface InspectLike {
  Id: string;
  Name?: string;
  Created?: string;
  Config?: { Labels?: Record<string, string> | null; Image?: string };
  State?: { Pid?: number; StartedAt?: string; FinishedAt?: string; Running?: boolean };
  HostConfig?: { Privileged?: boolean; CapAdd?: string[] | null; CapDrop?: string[] | null; CgroupParent?: string };
  NetworkSettings?: {
    IPAddress?: string;
    GlobalIPv6Address?: string;
    Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string } | null> | null;
  };
}

export interface LabelKeys {
  agent: string;
  project: string;
}

const norm = (cap: string) => cap.toUpperCase().replace(/^CAP_/, '');

/**
 * Can the container open AF_PACKET / raw sockets, which the cgroup hooks cannot stop? Docker keeps
 * NET_RAW in its default capability set, so the answer is yes unless it was dropped (and not
 * added back), and always yes for privileged containers.
 */
export function canBypassRaw(host: InspectLike['HostConfig']): boolean {
  if (host?.Privileged) return true;
  const add = (host?.CapAdd ?? []).map(norm);
  if (add.includes('NET_RAW') || add.includes('ALL')) return true;
  const drop = (host?.CapDrop ?? []).map(norm);
  return !(drop.includes('NET_RAW') || drop.includes('ALL'));
}

/** Every address Docker assigned, v4 and v6, across networks, deduplicated, stable order. */
export function containerIps(ns: InspectLike['NetworkSettings']): string[] {
  const ips = new Set<string>();
  for (const a of [ns?.IPAddress, ns?.GlobalIPv6Address]) if (a) ips.add(a);
  for (const name of Object.keys(ns?.Networks ?? {}).sort()) {
    const n = ns?.Networks?.[name];
    for (const a of [n?.IPAddress, n?.GlobalIPv6Address]) if (a) ips.add(a);
  }
  return [...ips];
}

/** Docker's zero time ("0001-01-01T00:00:00Z") means "never"; RFC 3339 with ns otherwise. */
export function dockerTimeMs(t: string | undefined): number | undefined {
  if (!t || t.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface ContainerFacts {
  container_id: string;
  container_name?: string;
  image?: string;
  /** Raw label values (D17): absent label → undefined, never a made-up value. */
  agent?: string;
  project?: string;
  ips: string[];
  started_ms?: number;
  pid: number;
  can_bypass_raw: boolean;
  privileged: boolean;
  cap_add: string[];
  cap_drop: string[];
  /** Label values present but not carried (label-value.ts): absent from the facts, reported here. */
  rejected: LabelRejection[];
}

export interface LabelRejection extends LabelProblem {
  label: 'agent' | 'project';
  key: string;
  value: string;
}

export function factsFromInspect(c: InspectLike, keys: LabelKeys): ContainerFacts {
  const labels = c.Config?.Labels ?? {};
  const facts: ContainerFacts = {
    container_id: c.Id,
    ips: containerIps(c.NetworkSettings),
    pid: c.State?.Pid ?? 0,
    can_bypass_raw: canBypassRaw(c.HostConfig),
    privileged: c.HostConfig?.Privileged ?? false,
    cap_add: c.HostConfig?.CapAdd ?? [],
    cap_drop: c.HostConfig?.CapDrop ?? [],
    rejected: [],
  };
  if (c.Name) facts.container_name = c.Name.replace(/^\//, '');
  if (c.Config?.Image) facts.image = c.Config.Image;
  for (const label of ['agent', 'project'] as const) {
    const key = keys[label];
    if (!Object.hasOwn(labels, key)) continue;
    const value = labels[key]!;
    const problem = labelValueProblem(value);
    if (problem) facts.rejected.push({ label, key, value, ...problem });
    else facts[label] = value;
  }
  const started = dockerTimeMs(c.State?.StartedAt);
  if (started !== undefined) facts.started_ms = started;
  return facts;
}
