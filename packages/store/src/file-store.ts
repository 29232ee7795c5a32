// The embedded default: with no OpenSearch configured, documents go to rotating NDJSON files, one
// series per source under `<dir>/<source>/`, the same ss4o documents OpenSearch would hold. A
// batch is fsynced before the pipeline acks it, so the at-least-once promise holds here too;
// redeliveries are removed on read (by attributes.id), the file store's version of the 409.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ItemOutcome } from './bulk-result.ts';
import type { Ss4oDocument, SourceName } from './document.ts';
import type { BulkItem, DocumentWriter } from './writer.ts';

export interface FileStoreOptions {
  dir: string;
  maxFileBytes: number;
  /** Files last written longer ago than this are deleted at rotation. */
  retentionMs: number;
  now?: () => Date;
}

interface OpenFile {
  handle: FileHandle;
  path: string;
  bytes: number;
}

const FILE_RE = /^([a-z0-9][a-z0-9_.-]*)-(\d{8}T\d{9})-(\d+)-(\d{6})\.ndjson$/;

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:.Z]/g, '');
}

export class FileStoreWriter implements DocumentWriter {
  readonly kind = 'file';
  private readonly files = new Map<string, OpenFile>();
  private seq = 0;

  constructor(private readonly opts: FileStoreOptions) {}

  async write(items: BulkItem[]): Promise<ItemOutcome[]> {
    const bySource = new Map<string, string[]>();
    for (const it of items) {
      const list = bySource.get(it.source) ?? [];
      list.push(it.json);
      bySource.set(it.source, list);
    }
    for (const [source, lines] of bySource) {
      const f = await this.fileFor(source);
      const chunk = lines.join('\n') + '\n';
      await f.handle.write(chunk);
      await f.handle.datasync();
      f.bytes += Buffer.byteLength(chunk);
    }
    return items.map(() => ({ kind: 'created' }) as const);
  }

  private async fileFor(source: string): Promise<OpenFile> {
    const current = this.files.get(source);
    if (current && current.bytes < this.opts.maxFileBytes) return current;
    if (current) await current.handle.close();
    const dir = join(this.opts.dir, source);
    await mkdir(dir, { recursive: true });
    await this.expire(dir);
    const name = `${source}-${stamp((this.opts.now ?? (() => new Date()))())}-${process.pid}-${String(++this.seq).padStart(6, '0')}.ndjson`;
    const path = join(dir, name);
    const handle = await open(path, 'a');
    const file = { handle, path, bytes: 0 };
    this.files.set(source, file);
    return file;
  }

  private async expire(dir: string): Promise<void> {
    const cutoff = (this.opts.now ?? (() => new Date()))().getTime() - this.opts.retentionMs;
    for (const name of await readdir(dir)) {
      if (!FILE_RE.test(name)) continue;
      const path = join(dir, name);
      if ((await stat(path)).mtimeMs < cutoff) await unlink(path);
    }
  }

  async close(): Promise<void> {
    for (const f of this.files.values()) await f.handle.close();
    this.files.clear();
  }
}

export interface StoreFilter {
  /** Stream suffixes to read (default the three event sources): `claude`, `otel-…` too. */
  sources?: string[];
  since?: Date;
  until?: Date;
  agent?: string;
  project?: string;
  verdict?: string;
}

function matches(doc: Ss4oDocument, f: StoreFilter): boolean {
  const a = doc.attributes;
  if (f.agent !== undefined && a.agent !== f.agent) return false;
  if (f.project !== undefined && a.project !== f.project) return false;
  if (f.verdict !== undefined && a.verdict !== f.verdict) return false;
  const t = Date.parse(doc['@timestamp']);
  if (f.since && t < f.since.getTime()) return false;
  if (f.until && t > f.until.getTime()) return false;
  return true;
}

/**
 * Read the documents of an NDJSON store (for `sluice tail --from-file`), file by file in write
 * order, each event once. A line that does not parse (a torn write at a crash) is reported through
 * `onBadLine` and skipped rather than ending the read.
 */
export async function* readNdjsonStore(
  dir: string,
  filter: StoreFilter = {},
  onBadLine: (file: string, line: number, err: Error) => void = () => {},
): AsyncGenerator<Ss4oDocument> {
  const seen = new Set<string>();
  for (const source of filter.sources ?? (['egress', 'dns', 'overseer'] as const)) {
    const sub = join(dir, source);
    let names: string[];
    try {
      names = (await readdir(sub)).filter((n) => FILE_RE.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      const path = join(sub, name);
      const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
      let n = 0;
      for await (const line of lines) {
        n++;
        if (line === '') continue;
        let doc: Ss4oDocument;
        try {
          doc = JSON.parse(line) as Ss4oDocument;
        } catch (err) {
          onBadLine(path, n, err as Error);
          continue;
        }
        const key = `${source}\0${String(doc.attributes?.id ?? '')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (matches(doc, filter)) yield doc;
      }
    }
  }
}
