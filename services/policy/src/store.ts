// Policy revisions and bypasses in the NATS KV bucket `sluice-policy`. The key `document` holds
// the current revision; its KV history is the revision history (KV revision numbers are the
// policy revision numbers, so `rollback 42` names a stored entry, not a counter we keep). The
// bucket is shared by every node: each node's policy service compiles it for its own maps.
import type { KV, KvEntry } from '@nats-io/kv';
import { BypassRecord, RevisionMeta } from '@sluice/contracts';
import { z } from 'zod';
import type { PolicyIdTable } from './compile.ts';

export const DOCUMENT_KEY = 'document';
export const BYPASS_PREFIX = 'bypass.';

export const StoredRevision = z.object({
  meta: RevisionMeta.omit({ revision: true }),
  yaml: z.string(),
  ids: z.object({
    next_policy_id: z.number().int().positive(),
    policies: z.record(z.string(), z.object({ id: z.number().int().positive(), hash: z.string() })),
  }),
});
export type StoredRevision = z.infer<typeof StoredRevision>;

export interface Revision extends StoredRevision {
  revision: number;
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

const enc = new TextEncoder();

function decodeRevision(e: KvEntry): Revision {
  const parsed = StoredRevision.safeParse(e.json());
  if (!parsed.success) {
    // A corrupt entry is reported with its revision, not skipped: it is the policy of record.
    throw new Error(`sluice-policy ${DOCUMENT_KEY}@${e.revision} is not a valid revision: ${parsed.error.message}`);
  }
  return { ...parsed.data, revision: e.revision };
}

export class PolicyStore {
  constructor(readonly kv: KV) {}

  async current(): Promise<Revision | undefined> {
    const e = await this.kv.get(DOCUMENT_KEY);
    return e && e.operation === 'PUT' ? decodeRevision(e) : undefined;
  }

  async get(revision: number): Promise<Revision | undefined> {
    let e: KvEntry | null;
    try {
      e = await this.kv.get(DOCUMENT_KEY, { revision });
    } catch (err) {
      if (/not found|no message/i.test((err as Error).message)) return undefined;
      throw err;
    }
    return e && e.operation === 'PUT' && e.key === DOCUMENT_KEY ? decodeRevision(e) : undefined;
  }

  async history(limit = 64): Promise<RevisionMeta[]> {
    const out: RevisionMeta[] = [];
    const it = await this.kv.history({ key: DOCUMENT_KEY });
    for await (const e of it) {
      if (e.operation === 'PUT') out.push({ ...decodeRevision(e).meta, revision: e.revision });
    }
    return out.slice(-limit).reverse();
  }

  /**
   * Store a new revision if the current one is still `expect` (0: none yet). Compare-and-set, so two
   * operators applying at once cannot silently overwrite each other.
   */
  async put(rev: StoredRevision, expect: number): Promise<number> {
    const data = enc.encode(JSON.stringify(StoredRevision.parse(rev)));
    try {
      return expect === 0 ? await this.kv.create(DOCUMENT_KEY, data) : await this.kv.update(DOCUMENT_KEY, data, expect);
    } catch (err) {
      if (/wrong last sequence|key exists/i.test((err as Error).message)) {
        throw new ConflictError(`revision ${expect} is no longer current: another apply won; re-run diff`);
      }
      throw err;
    }
  }

  async bypasses(): Promise<BypassRecord[]> {
    const out: BypassRecord[] = [];
    const keys = await this.kv.keys(`${BYPASS_PREFIX}>`);
    for await (const k of keys) {
      const e = await this.kv.get(k);
      if (!e || e.operation !== 'PUT') continue;
      const r = BypassRecord.safeParse(e.json());
      if (r.success) out.push(r.data);
      else throw new Error(`sluice-policy ${k} is not a valid bypass record: ${r.error.message}`);
    }
    return out.sort((a, b) => a.expires_at.localeCompare(b.expires_at));
  }

  async putBypass(b: BypassRecord): Promise<void> {
    await this.kv.put(BYPASS_PREFIX + b.id, enc.encode(JSON.stringify(BypassRecord.parse(b))));
  }

  async getBypass(id: string): Promise<BypassRecord | undefined> {
    const e = await this.kv.get(BYPASS_PREFIX + id);
    return e && e.operation === 'PUT' ? BypassRecord.parse(e.json()) : undefined;
  }

  async deleteBypass(id: string): Promise<void> {
    await this.kv.delete(BYPASS_PREFIX + id);
  }
}

export type { PolicyIdTable };
