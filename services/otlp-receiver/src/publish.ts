// The accepted records into SLUICE_OTLP before the sender hears 200: NDJSON in messages of at most
// `maxBytes` (a large request becomes several), each with its own Nats-Msg-Id so a retried publish
// is a duplicate, and all of them acknowledged by JetStream or the request fails as a whole (503:
// the sender retries, and the records that did land are 409 duplicates at the sink by their ids).
import type { MsgHdrs } from '@nats-io/transport-node';
import type { OtlpLogEvent } from '@sluice/contracts';

/** One message's payload per slice, in order; a single line over maxBytes travels alone. */
export function slices(events: OtlpLogEvent[], maxBytes: number): string[] {
  const out: string[] = [];
  let current = '';
  let bytes = 0;
  for (const e of events) {
    const line = JSON.stringify(e);
    const size = Buffer.byteLength(line) + 1;
    if (current !== '' && bytes + size > maxBytes) {
      out.push(current);
      current = '';
      bytes = 0;
    }
    current += current === '' ? line : `\n${line}`;
    bytes += size;
  }
  if (current !== '') out.push(current);
  return out;
}

export interface Publisher {
  publish(subject: string, payload: string, opts: { msgID: string; headers?: MsgHdrs }): Promise<unknown>;
}

export async function publishSlices(p: Publisher, subject: string, requestId: string, payloads: string[], headers?: MsgHdrs): Promise<void> {
  await Promise.all(payloads.map((payload, k) => p.publish(subject, payload, { msgID: `${requestId}.${k}`, ...(headers ? { headers } : {}) })));
}
