// Rejected documents go to `sluice.dlq.sink` (stream SLUICE_CONTROL) as NDJSON, one line per
// rejection, one NATS message per source message. The Nats-Msg-Id is derived from the source
// message, so a redelivered source message does not DLQ its rejections twice within the window.
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { HEADERS } from '@sluice/contracts';
import { DLQ_SUBJECT, type DlqRecord } from '@sluice/store';
import type { DlqEntry, MessageMeta } from './pipeline.ts';

export function dlqRecords(entries: DlqEntry[], time: string): DlqRecord[] {
  return entries.map((e) => ({
    time,
    stage: 'sink',
    source: e.source,
    subject: e.subject,
    stream_seq: e.seq,
    line: e.line,
    kind: e.kind,
    reason: e.reason,
    raw: e.raw,
  }));
}

export function dlqPublisher(js: JetStreamClient, durable: string): (entries: DlqEntry[], meta: MessageMeta) => Promise<void> {
  return async (entries, meta) => {
    const h = headers();
    h.set(HEADERS.contentType, 'application/x-ndjson');
    h.set(HEADERS.count, String(entries.length));
    const body = dlqRecords(entries, new Date().toISOString())
      .map((r) => JSON.stringify(r))
      .join('\n');
    await js.publish(DLQ_SUBJECT, body, { headers: h, msgID: `${durable}:${meta.source}:${meta.seq}` });
  };
}
