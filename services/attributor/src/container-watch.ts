// Docker as the source of identities: the initial list, then the event stream (create, start,
// die, destroy, rename, network connect/disconnect). Each start resolves the container's cgroup id
// eagerly; a container that is already gone by then (short-lived) falls back to Docker's
// conventional cgroup path, and failing that to the cgroup scan when its records arrive.
import type Docker from 'dockerode';
import type { Logger } from '@sluice/runtime';
import { cgroupOfPid, conventionalCgroup, inManagedScope, type ResolvedCgroup } from './cgroup.ts';
import type { CachedIdentity } from './identity.ts';
import type { IdentityStore } from './identity-store.ts';
import { factsFromInspect, type ContainerFacts, type InspectLike, type LabelKeys } from './inspect.ts';
import type { LabelCache } from './label-cache.ts';
import type { RuntimeRequest } from './runtime-request.ts';
import { labelDlqMessage, LabelRejections } from './label-dlq.ts';
import { lifecycleMessage, rawSocketAudit, type ControlMessage, type LifecycleEvent } from './lifecycle.ts';
import type { AttributorMetrics } from './metrics.ts';

export interface WatchDeps {
  docker: Docker;
  cache: LabelCache;
  store: IdentityStore;
  node: string;
  cgroupMount: string;
  /** Managed scopes (relative to the mount): raw_socket_capable is about these containers only. */
  scopes: string[];
  labels: LabelKeys;
  publish: (m: ControlMessage) => Promise<void>;
  log: Logger;
  metrics: AttributorMetrics;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export class ContainerWatch {
  private stream: NodeJS.ReadableStream | undefined;
  private stopped = false;
  private lastEventSec = 0;
  /** Events of one container are handled in order; different containers concurrently. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly rejections = new LabelRejections();

  constructor(private readonly d: WatchDeps) {}

  /** List running containers, then follow events from just before the list so none is missed. */
  async start(): Promise<void> {
    const since = Math.floor(Date.now() / 1000) - 1;
    await this.resync('snapshot');
    this.lastEventSec = since;
    await this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    (this.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    await Promise.allSettled([...this.queues.values()]);
  }

  /** (Re)read every running container; identities the cache holds for gone containers die now. */
  async resync(event: LifecycleEvent): Promise<void> {
    const list = await this.d.docker.listContainers({ all: false });
    const running = new Set(list.map((c) => c.Id));
    await Promise.all(list.map((c) => this.enqueue(c.Id, () => this.track(c.Id, event, undefined, String(Date.now())))));
    for (const e of [...this.d.cache.entries()]) {
      const id = e.identity;
      if (id.node !== this.d.node || id.attribution !== 'docker' || !id.container_id) continue;
      if (id.died_ms === undefined && !running.has(id.container_id)) await this.died(id.container_id, Date.now(), 'die', 'resync');
    }
  }

  private async follow(): Promise<void> {
    if (this.stopped) return;
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.d.docker.getEvents({
        since: this.lastEventSec,
        filters: { type: ['container', 'network'] },
      })) as NodeJS.ReadableStream;
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message }, 'docker events unavailable; retrying');
      setTimeout(() => void this.follow(), 1000).unref();
      return;
    }
    this.stream = stream;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          this.onEvent(JSON.parse(line) as DockerEvent);
        } catch (err) {
          this.d.metrics.stage.dropped('bad_docker_event');
          this.d.log.warn({ err: (err as Error).message, line: line.slice(0, 200) }, 'unreadable docker event');
        }
      }
    });
    const again = (why: string) => {
      if (this.stopped || this.stream !== stream) return;
      this.stream = undefined;
      this.d.log.warn({ why }, 'docker event stream ended; resyncing and following again');
      setTimeout(() => {
        void this.resync('snapshot')
          .catch((err: unknown) => this.d.log.warn({ err: (err as Error).message }, 'docker resync failed'))
          .then(() => this.follow());
      }, 1000).unref();
    };
    stream.on('end', () => again('end'));
    stream.on('error', (err: Error) => again(err.message));
  }

  private onEvent(ev: DockerEvent): void {
    const action = (ev.Action ?? '').split(':')[0]!;
    const timeMs = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : (ev.time ?? Date.now() / 1000) * 1000;
    if (ev.time) this.lastEventSec = Math.max(this.lastEventSec, ev.time);
    const dedupe = String(ev.timeNano ?? timeMs);
    if (ev.Type === 'network') {
      const cid = ev.Actor?.Attributes?.container;
      if (!cid || (action !== 'connect' && action !== 'disconnect')) return;
      this.d.metrics.dockerEvent(`network_${action}`);
      void this.enqueue(cid, () => this.track(cid, 'network', undefined, dedupe, true));
      return;
    }
    const cid = ev.Actor?.ID;
    if (ev.Type !== 'container' || !cid) return;
    switch (action) {
      case 'create':
        // Nothing to index before there is a cgroup; with the sluice runtime, runtime-requests.ts
        // announces the cgroup before the container's first instruction.
        this.d.metrics.dockerEvent(action);
        return;
      case 'start':
      case 'rename':
        this.d.metrics.dockerEvent(action);
        void this.enqueue(cid, () => this.track(cid, action, ev.Actor?.Attributes, dedupe, action === 'rename'));
        return;
      case 'die':
      case 'destroy':
        this.d.metrics.dockerEvent(action);
        void this.enqueue(cid, () => this.died(cid, timeMs, action, dedupe));
        return;
    }
  }

  private enqueue(cid: string, job: () => Promise<unknown>): Promise<void> {
    const prev = this.queues.get(cid) ?? Promise.resolve();
    const next = prev
      .then(job)
      .then(() => undefined)
      .catch((err: unknown) => this.d.log.error({ err, container: cid }, 'container event handling failed'))
      .finally(() => {
        if (this.queues.get(cid) === next) this.queues.delete(cid);
      });
    this.queues.set(cid, next);
    return next;
  }

  /** Inspect a container and (re)index it; `keepCgroup` for events that do not move it (rename, network). */
  async track(
    cid: string,
    event: LifecycleEvent,
    attrs: Record<string, string> | undefined,
    dedupe: string,
    keepCgroup = false,
  ): Promise<CachedIdentity | undefined> {
    let facts: ContainerFacts;
    try {
      facts = factsFromInspect((await this.d.docker.getContainer(cid).inspect()) as unknown as InspectLike, this.d.labels);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      if (!attrs) return undefined; // gone, and nothing to go on
      // Removed before we could inspect it: the event's attributes carry its labels.
      facts = factsFromInspect({ Id: cid, Name: attrs.name, Config: { Labels: attrs, Image: attrs.image } }, this.d.labels);
    }
    await this.reportRejections(cid, facts);
    const previous = this.d.cache.get(this.d.node, cid)?.identity;
    let cgroup: ResolvedCgroup | undefined;
    if (keepCgroup && previous?.cgroup_id) cgroup = { id: previous.cgroup_id, path: previous.cgroup_path ?? '' };
    else cgroup = (await cgroupOfPid(this.d.cgroupMount, facts.pid)) ?? (await conventionalCgroup(this.d.cgroupMount, cid));
    if (!cgroup) this.d.log.warn({ container: cid }, 'container cgroup not found at start; its records resolve by scan');
    const identity = this.identityFrom(facts, cgroup, previous);
    this.index(identity, previous);
    await this.d.publish(lifecycleMessage(event, identity, Date.now(), dedupe));
    const managed = identity.cgroup_path !== undefined && inManagedScope(identity.cgroup_path, this.d.scopes);
    if (identity.can_bypass_raw && managed && (event === 'start' || event === 'snapshot')) {
      await this.d.publish(rawSocketAudit(identity, facts));
    }
    return identity;
  }

  /**
   * The sluice-runc wrapper holds this container's `create` until its cgroup has a policy entry:
   * announce that cgroup with the container's labels now (runtime-request.ts). Labels come from the
   * container list, which Docker serves without the container lock its start is holding.
   */
  async announceFromRuntime(req: RuntimeRequest): Promise<void> {
    if (!inManagedScope(req.cgroupPath, this.d.scopes)) throw new Error(`cgroup ${req.cgroupPath} is outside the managed scopes`);
    const listed = (await this.d.docker.listContainers({ all: true, filters: { id: [req.containerId] } })) as Array<{
      Id: string;
      Names?: string[];
      Image?: string;
      Labels?: Record<string, string>;
    }>;
    const c = listed.find((x) => x.Id === req.containerId);
    if (!c) throw new Error(`container ${req.containerId} is not in Docker's list`);
    const facts = factsFromInspect({ Id: c.Id, Name: c.Names?.[0], Config: { Labels: c.Labels ?? {}, Image: c.Image } }, this.d.labels);
    await this.reportRejections(req.containerId, facts);
    // Not through this container's event queue: the `network connect` Docker sends during the start
    // is queued there, and its inspect waits for the start we are holding (a deadlock until the
    // wrapper gives up). The later start event re-indexes the container through the queue as usual.
    const identity = this.identityFrom(facts, { path: req.cgroupPath, id: req.cgroupId }, this.d.cache.get(this.d.node, req.containerId)?.identity);
    this.index(identity, undefined);
    await this.d.publish(lifecycleMessage('create', identity, Date.now(), `runtime-${req.cgroupId}`));
  }

  /** Label values not carried: counted and sent to the DLQ once; the container is tracked without them. */
  private async reportRejections(cid: string, facts: ContainerFacts): Promise<void> {
    for (const r of this.rejections.fresh(cid, facts.rejected)) {
      this.d.metrics.labelDropped(r.label, r.reason);
      this.d.log.warn({ container: cid, label: r.key, reason: r.reason, detail: r.detail }, 'label value not carried; sent to the DLQ');
      await this.d.publish(labelDlqMessage(this.d.node, cid, r, Date.now()));
    }
  }

  /** A cgroup the scan found under a container's path: track that container with it. */
  async adoptCgroup(cid: string, cgroup: ResolvedCgroup): Promise<void> {
    await this.enqueue(cid, async () => {
      const prev = this.d.cache.get(this.d.node, cid)?.identity;
      if (prev?.cgroup_id === cgroup.id) return;
      if (prev) {
        this.index({ ...prev, cgroup_id: cgroup.id, cgroup_path: cgroup.path }, prev);
        return;
      }
      await this.track(cid, 'start', undefined, `scan-${cgroup.id}`);
    });
  }

  private identityFrom(facts: ContainerFacts, cgroup: ResolvedCgroup | undefined, prev: CachedIdentity | undefined): CachedIdentity {
    const id: CachedIdentity = {
      attribution: 'docker',
      node: this.d.node,
      container_id: facts.container_id,
      ips: facts.ips,
      started_ms: facts.started_ms ?? prev?.started_ms ?? Date.now(),
      can_bypass_raw: facts.can_bypass_raw,
    };
    for (const k of ['container_name', 'image', 'agent', 'project'] as const) if (facts[k] !== undefined) id[k] = facts[k];
    if (cgroup) [id.cgroup_id, id.cgroup_path] = [cgroup.id, cgroup.path];
    else if (prev?.cgroup_id) [id.cgroup_id, id.cgroup_path] = [prev.cgroup_id, prev.cgroup_path];
    return id;
  }

  private index(identity: CachedIdentity, previous: CachedIdentity | undefined): void {
    this.d.cache.upsert(identity);
    this.d.store.put(identity);
    const gone = previous?.ips.filter((ip) => !identity.ips.includes(ip)) ?? [];
    if (gone.length > 0) this.d.store.dropIps(this.d.node, gone);
  }

  private async died(cid: string, atMs: number, event: 'die' | 'destroy', dedupe: string): Promise<void> {
    const entry = this.d.cache.markDead(this.d.node, cid, atMs);
    if (event === 'destroy') this.rejections.forget(cid);
    if (!entry) return; // never tracked (started and ended while we were down)
    this.d.store.put(entry.identity);
    await this.d.publish(lifecycleMessage(event, entry.identity, atMs, dedupe));
  }
}
