// The policy document the denial feed advises against: the policy service's current revision,
// fetched at most once per max age and again as soon as a policy is applied (audit subjects), so
// advice follows the operator's change within one request. A fetch failure is remembered for a
// short while rather than retried per message: a policy service that is down must not slow the feed.
import { formatPolicyError, parsePolicy } from '@sluice/contracts';
import type { CurrentDocument } from '@sluice/policy-advice';
import type { PolicyClient } from './policy-client.ts';

export type PolicyView = { ok: true; current: CurrentDocument | undefined } | { ok: false; error: string };

export class CurrentPolicyCache {
  private view: PolicyView | undefined;
  private fetchedAt = 0;
  private inflight: Promise<PolicyView> | undefined;

  constructor(
    private readonly client: PolicyClient,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  invalidate(): void {
    this.view = undefined;
  }

  async get(): Promise<PolicyView> {
    if (this.view && this.now() - this.fetchedAt < this.maxAgeMs) return this.view;
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetch(): Promise<PolicyView> {
    let view: PolicyView;
    try {
      const cur = await this.client.current();
      if (!cur) view = { ok: true, current: undefined };
      else {
        const parsed = parsePolicy(cur.yaml, { file: `policy revision ${cur.revision}` });
        view = parsed.ok
          ? { ok: true, current: { document: parsed.document, revision: cur.revision, ids: cur.ids } }
          : { ok: false, error: `revision ${cur.revision} does not validate: ${parsed.errors.map(formatPolicyError).join('; ')}` };
      }
    } catch (err) {
      view = { ok: false, error: (err as Error).message };
    }
    this.view = view;
    this.fetchedAt = this.now();
    return view;
  }
}
