// Drops as documents (P15): every interval in which a node lost records, one notice per stage and
// reason lands in the overseer stream (`sluice.audit.drop_notice` → clawker-overseer), so an
// investigator sees the gap where it happened. A notice is an AuditEvent (the sink's overseer
// schema), with a fixed `detail`. Ids are deterministic (node, boot, round, end, stage, reason): a
// notice re-published after a crash is the same document, never a second count.
import { z } from 'zod';
import { AuditEvent, DropStage } from './events.ts';
import { encodeToken } from './token.ts';

export const DROP_NOTICE_KIND = 'drop_notice';

export const DropNoticeDetail = z.strictObject({
  node: z.string().min(1),
  boot_id: z.string().min(1),
  stage: DropStage,
  drop_reason: z.string().min(1),
  /** Records lost in [interval_start, interval_end]. */
  count: z.number().int().positive(),
  /** Records lost at this stage for this reason on this node since boot, this notice included. */
  total: z.number().int().nonnegative(),
  interval_start: z.iso.datetime(),
  interval_end: z.iso.datetime(),
  /** The node's notice round: consecutive, so a missing round is visible. */
  round: z.number().int().positive(),
});
export type DropNoticeDetail = z.infer<typeof DropNoticeDetail>;

export const DropNotice = AuditEvent.extend({
  kind: z.literal(DROP_NOTICE_KIND),
  subject: z.strictObject({ node: z.string().min(1) }),
  detail: DropNoticeDetail,
});
export type DropNotice = z.infer<typeof DropNotice>;

/**
 * The interval's end is part of the id: were a node's account ever lost (bucket deleted), its
 * rounds would count from 1 again, and a repeated id would overwrite an earlier notice's document.
 */
export function dropNoticeId(d: Pick<DropNoticeDetail, 'node' | 'boot_id' | 'round' | 'interval_end' | 'stage' | 'drop_reason'>): string {
  return `${d.node}:${d.boot_id}:drops:${d.round}:${Date.parse(d.interval_end)}:${d.stage}:${d.drop_reason}`;
}

export function dropNotice(actor: string, d: DropNoticeDetail): DropNotice {
  return DropNotice.parse({
    id: dropNoticeId(d),
    time: d.interval_end,
    kind: DROP_NOTICE_KIND,
    actor,
    reason: `${d.count} records lost at stage ${d.stage} (${d.drop_reason}) on ${d.node} between ${d.interval_start} and ${d.interval_end}; ${d.total} since boot`,
    subject: { node: d.node },
    detail: d,
  });
}

/** What a bpf-reader persisted about its node's drops (KV_BUCKETS.dropAccounts, key dropAccountKey). */
export const DropAccountState = z.strictObject({
  node: z.string().min(1),
  boot_id: z.string().min(1),
  /** Kernel counters (bpf/map_types.h slots) as of the last round: the next reader's baseline. */
  kernel: z.array(z.number().int().nonnegative()),
  /** Last round written (its notices may still be pending). */
  round: z.number().int().nonnegative(),
  /** `<stage>/<reason>` → records lost since boot, as noticed. */
  totals: z.record(z.string(), z.number().int().nonnegative()),
  /** Notices written ahead of publishing: re-published (same ids) until JetStream acknowledged them. */
  pending: z.array(DropNotice),
  updated_at: z.iso.datetime(),
});
export type DropAccountState = z.infer<typeof DropAccountState>;

/** A KV key for a node: the token encoding with `%` and `~` (not allowed in KV keys) mapped to `=` and `/`. */
export function dropAccountKey(node: string): string {
  return `node.${encodeToken(node).replace(/%/g, '=').replace('~', '/')}`;
}
