// The drop account's home: one key per node in a NATS KV bucket (KV_BUCKETS.dropAccounts),
// validated on the way in so a corrupt or foreign value is reported by key, never trusted.
import { DropAccountState, dropAccountKey } from '@sluice/contracts';

/** The slice of @nats-io/kv's KV this store uses. */
export interface KvLike {
  get(key: string): Promise<{ operation: string; string(): string } | null>;
  put(key: string, value: string): Promise<number>;
}

export class DropAccountStore {
  readonly key: string;

  constructor(
    private readonly kv: KvLike,
    private readonly bucket: string,
    node: string,
  ) {
    this.key = dropAccountKey(node);
  }

  async load(): Promise<DropAccountState | undefined> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== 'PUT') return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(e.string());
    } catch (err) {
      throw new Error(`KV ${this.bucket}/${this.key}: not JSON: ${(err as Error).message}`);
    }
    const r = DropAccountState.safeParse(raw);
    if (!r.success) {
      const where = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new Error(`KV ${this.bucket}/${this.key}: not a drop account: ${where}`);
    }
    return r.data;
  }

  async save(state: DropAccountState): Promise<void> {
    await this.kv.put(this.key, JSON.stringify(state));
  }
}
