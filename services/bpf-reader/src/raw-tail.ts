// What JetStream already holds of this node's records from this boot, at the tail of its
// SLUICE_RAW subject: a starting reader seeds its re-delivery filter with it (redelivery.ts), since
// a killed reader may have had batches acknowledged by JetStream that it never got to acknowledge
// to the helper, and the new helper sends those records again.
//
// At most `want` records are needed (the helper never holds more unacknowledged), but batches
// run from 1 to READER_BATCH_RECORDS records, so the tail is found in two passes: headers only,
// in windows growing backwards from the last message until `want` records of this boot are
// covered, then the bodies of just those messages.
import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { bodyRecords, HEADERS, KERNEL_RECORD_SIZE as RECORD_SIZE, RawBatchError, rawBatchEncoding, STREAMS, subjects } from '@sluice/contracts';
import { jetstreamManager } from '@sluice/runtime';

interface Head {
  seq: number;
  count: number;
  sameBoot: boolean;
}

export async function rawTail(nc: NatsConnection, node: string, bootId: string, want: number, timeoutMs = 15_000): Promise<Buffer[]> {
  const jsm = await jetstreamManager(nc);
  const subject = subjects.raw(node);
  const info = await jsm.streams.info(STREAMS.raw.name, { subjects_filter: subject });
  const total = (info.state.subjects as Record<string, number> | undefined)?.[subject] ?? 0;
  if (total === 0 || want <= 0) return [];
  const { first_seq: first, last_seq: last } = info.state;
  const deadline = Date.now() + timeoutMs;

  let from = last;
  let start: number | undefined;
  for (let span = Math.min(want, 256); ; span *= 4) {
    from = Math.max(first, last - span + 1);
    const heads: Head[] = [];
    await readRange(nc, subject, from, last, true, deadline, (m) =>
      heads.push({ seq: m.seq, count: Number(m.headers?.get(HEADERS.count) ?? 0), sameBoot: m.headers?.get(HEADERS.bootId) === bootId }),
    );
    let sum = 0;
    let otherBoot = false;
    start = undefined;
    for (let i = heads.length - 1; i >= 0 && sum < want; i--) {
      if (!heads[i]!.sameBoot) {
        otherBoot = true; // the ring of an earlier boot is gone: nothing before this can come again
        break;
      }
      sum += heads[i]!.count;
      start = heads[i]!.seq;
    }
    if (sum >= want || otherBoot || from === first) break;
  }
  if (start === undefined) return [];
  const out: Buffer[] = [];
  await readRange(nc, subject, start, last, false, deadline, (m) => {
    if (m.headers?.get(HEADERS.bootId) !== bootId) return;
    // The records as the helper sent them, whichever format the body is in (packed ones zero-extended).
    let records: Uint8Array;
    try {
      records = bodyRecords(rawBatchEncoding(m.headers?.get(HEADERS.contentType)), m.data, Number(m.headers?.get(HEADERS.count)), RECORD_SIZE);
    } catch (err) {
      if (err instanceof RawBatchError) return; // not a batch this reader wrote: nothing in it can come again
      throw err;
    }
    // A fixed body is the message's own bytes: copied once, as the views outlive the message.
    const body = records === m.data ? Buffer.from(records) : Buffer.from(records.buffer, records.byteOffset, records.byteLength);
    for (let off = 0; off + RECORD_SIZE <= body.length; off += RECORD_SIZE) out.push(body.subarray(off, off + RECORD_SIZE));
  });
  return out;
}

async function readRange(
  nc: NatsConnection,
  subject: string,
  from: number,
  to: number,
  headersOnly: boolean,
  deadline: number,
  each: (m: JsMsg) => void,
): Promise<void> {
  const c = await jetstream(nc).consumers.get(STREAMS.raw.name, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
    headers_only: headersOnly,
  });
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`reading the tail of ${subject} (${from}..${to}) timed out`);
    const iter = await c.fetch({ max_messages: headersOnly ? 1000 : 32, expires: Math.min(left, 5000) });
    let got = 0;
    for await (const m of iter) {
      got++;
      each(m);
      if (m.seq >= to || m.info.pending === 0) return;
    }
    if (got === 0) return; // nothing more on this subject up to `to`
  }
}
