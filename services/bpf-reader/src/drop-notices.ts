// The I/O around the drop account: each round is persisted (write-ahead) before its notices are
// published to `sluice.audit.drop_notice`, and the acknowledged ones are persisted as gone. Rounds
// run one at a time; a round that cannot persist publishes nothing and is retried with the next
// (notices stay pending in memory meanwhile), so a notice is never out without its account.
import type { DropAccountState, DropNotice } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { DropAccount, RoundDrops } from './drop-account.ts';
import type { DropAccountStore } from './drop-account-store.ts';

export interface DropNoticerDeps {
  account: DropAccount;
  /** undefined: the account could not be loaded; notices are published, nothing is persisted. */
  store: DropAccountStore | undefined;
  /** JetStream-acknowledged publish with Nats-Msg-Id = notice id. */
  publish: (n: DropNotice) => Promise<void>;
  log: Logger;
  counted?: (result: 'published' | 'publish_failed' | 'persist_failed', n: number) => void;
}

export class DropNoticer {
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(private readonly d: DropNoticerDeps) {}

  /** Close an interval (see DropAccount.round) and publish what is pending; resolves when done. */
  round(drops: RoundDrops[], kernel: readonly number[] | undefined, now: Date): Promise<void> {
    // Taken now, synchronously: the ledger and the kernel values it reflects must be read together.
    const state = this.d.account.round(drops, kernel, now);
    if (state) this.dirty = true;
    return this.enqueue(() => this.flush());
  }

  /** Publish notices left pending by a previous reader (or round), after persisting nothing new. */
  resume(): Promise<void> {
    return this.enqueue(() => this.flush());
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(job, job);
    return this.chain;
  }

  private async flush(): Promise<void> {
    if (this.dirty && !(await this.persist(this.d.account.state))) return;
    this.dirty = false;
    const pending = [...this.d.account.pending];
    if (pending.length === 0) return;
    const done = new Set<string>();
    for (const n of pending) {
      try {
        await this.d.publish(n);
        done.add(n.id);
      } catch (err) {
        this.d.counted?.('publish_failed', 1);
        this.d.log.warn({ err: (err as Error).message, notice: n.id }, 'drop notice not published; retried next round');
        break; // keep order: later rounds' notices wait for this one
      }
    }
    if (done.size === 0) return;
    this.d.counted?.('published', done.size);
    this.dirty = true;
    if (await this.persist(this.d.account.acknowledged(done))) this.dirty = false;
  }

  private async persist(state: DropAccountState): Promise<boolean> {
    if (!this.d.store) return true;
    try {
      await this.d.store.save(state);
      return true;
    } catch (err) {
      this.d.counted?.('persist_failed', 1);
      this.d.log.warn({ err: (err as Error).message, key: this.d.store.key }, 'drop account not persisted; retried next round');
      return false;
    }
  }
}
