// Follows the sluice-runc wrapper's requests (runtime-request.ts): a directory watch, plus a rescan
// every second because inotify can coalesce or miss, and one at start for requests left while we
// were down. Each request is handled once by whichever replica on the node gets to it first (the
// others find it gone) and removed; a bad one is counted, logged and removed, never retried forever.
// Requests for cgroups outside our scopes belong to another instance and are left alone.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@sluice/runtime';
import { parseRuntimeRequest, type RuntimeRequest } from './runtime-request.ts';

export interface RuntimeRequestDeps {
  dir: string;
  /**
   * Is this request ours (its cgroup in one of our managed scopes)? Several instances share the
   * directory (one per node's scope set; a test suite's next to an operator's): a request for
   * another scope is left where it is for the attributor that owns it, never claimed or removed.
   */
  ours: (r: RuntimeRequest) => boolean;
  handle: (r: RuntimeRequest) => Promise<void>;
  log: Logger;
  counted: (outcome: 'announced' | 'bad' | 'failed') => void;
}

export class RuntimeRequests {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<string>();

  constructor(private readonly d: RuntimeRequestDeps) {}

  async start(): Promise<void> {
    await mkdir(this.d.dir, { recursive: true });
    this.watcher = watch(this.d.dir, (_ev, name) => {
      if (name?.endsWith('.req')) void this.one(name);
    });
    this.watcher.on('error', (err) => this.d.log.warn({ err: err.message }, 'runtime request watch failed; rescanning only'));
    this.timer = setInterval(() => void this.scan(), 1000);
    this.timer.unref();
    await this.scan();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.d.dir);
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => n.endsWith('.req')).map((n) => this.one(n)));
  }

  private async one(name: string): Promise<void> {
    if (this.inFlight.has(name)) return;
    this.inFlight.add(name);
    const file = join(this.d.dir, name);
    try {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return; // another replica took it, or the wrapper gave up and removed it
      }
      let req: RuntimeRequest;
      try {
        req = parseRuntimeRequest(name, text);
      } catch (err) {
        this.d.counted('bad');
        this.d.log.warn({ file, err: (err as Error).message }, 'bad runtime request; removed');
        await unlink(file).catch(() => undefined);
        return;
      }
      if (!this.d.ours(req)) return;
      try {
        await this.d.handle(req);
        this.d.counted('announced');
      } catch (err) {
        this.d.counted('failed');
        this.d.log.error({ file, err: (err as Error).message }, 'runtime request failed; the container starts on the default until its start event');
      }
      await unlink(file).catch(() => undefined);
    } finally {
      this.inFlight.delete(name);
    }
  }
}
