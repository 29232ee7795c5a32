// A label value the pipeline does not carry (label-value.ts) goes to `sluice.dlq.attributor` with
// its reason and its exact value (JSON escapes even lone surrogates), once per container and value:
// the Nats-Msg-Id is derived from both, so re-inspecting the container (rename, network, resync)
// does not repeat it within the duplicate window, and the tracker below not at all.
import { createHash } from 'node:crypto';
import { subjects } from '@sluice/contracts';
import type { LabelRejection } from './inspect.ts';
import type { ControlMessage } from './lifecycle.ts';

export const LABEL_DLQ_SUBJECT = subjects.dlq('attributor');

export interface LabelDlqRecord {
  time: string;
  stage: 'attributor';
  kind: 'label_value';
  reason: LabelRejection['reason'];
  detail: string;
  node: string;
  container_id: string;
  label: LabelRejection['label'];
  label_key: string;
  /** Length in UTF-16 units (bytes are undefined for a string with lone surrogates). */
  length: number;
  sha256: string;
  value: string;
}

function digest(value: string): string {
  return createHash('sha256').update(Buffer.from(value, 'utf16le')).digest('hex');
}

export function labelDlqMessage(node: string, containerId: string, r: LabelRejection, atMs: number): ControlMessage {
  const sha256 = digest(r.value);
  const payload: LabelDlqRecord = {
    time: new Date(atMs).toISOString(),
    stage: 'attributor',
    kind: 'label_value',
    reason: r.reason,
    detail: r.detail,
    node,
    container_id: containerId,
    label: r.label,
    label_key: r.key,
    length: r.value.length,
    sha256,
    value: r.value,
  };
  return { subject: LABEL_DLQ_SUBJECT, msgId: `${node}:${containerId}:label:${r.label}:${sha256.slice(0, 32)}`, payload };
}

/** Remembers what was reported so a container's re-inspections do not report it again. */
export class LabelRejections {
  private readonly seen = new Map<string, Set<string>>();

  /** The rejections not yet reported for this container. */
  fresh(containerId: string, rejected: LabelRejection[]): LabelRejection[] {
    if (rejected.length === 0) return [];
    let s = this.seen.get(containerId);
    if (!s) this.seen.set(containerId, (s = new Set()));
    const out: LabelRejection[] = [];
    for (const r of rejected) {
      const k = `${r.label}:${digest(r.value)}`;
      if (s.has(k)) continue;
      s.add(k);
      out.push(r);
    }
    return out;
  }

  forget(containerId: string): void {
    this.seen.delete(containerId);
  }
}
