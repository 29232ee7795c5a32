// The events of one SLUICE_EVENTS batch (NDJSON). A line that is not JSON or not an EgressEvent is
// handed to `invalid` with its reason, never silently skipped; the learn consumer and the denial
// feed count those the same way. Lines go through the schema's compiled fast check first (as in
// the sink): zod's safeParse was half of the learner's cost per event in a denial storm, and it
// still judges, with its messages, every line the fast check does not accept.
// Lines are found in the message's bytes and each is decoded on its own (as the sink's parseBatch
// does): decoding the whole message and splitting it cost as much again, and the denial feed can
// then copy an event's own bytes into its notice instead of encoding the line a second time.
import { compileFastCheck, EgressEvent } from '@sluice/contracts';

export type InvalidLine = 'json' | 'schema';

export interface EgressLine {
  event: EgressEvent;
  /**
   * [start, end) of the batch's bytes when they are exactly the event's JSON (nothing stripped or
   * changed, valid UTF-8); start is -1 otherwise.
   */
  start: number;
  end: number;
}

const fast = compileFastCheck(EgressEvent);
const NEWLINE = 0x0a;
const isJsonSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const REPLACEMENT = '\uFFFD';

/** The message's payload as a Buffer over the same memory (a string is encoded). */
export function batchBytes(payload: string | Uint8Array): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

export function* egressLinesIn(bytes: Buffer, invalid: (why: InvalidLine) => void): Generator<EgressLine> {
  const n = bytes.length;
  for (let from = 0; from < n; ) {
    let nl = bytes.indexOf(NEWLINE, from);
    if (nl < 0) nl = n;
    let s = from;
    let e = nl;
    from = nl + 1;
    while (s < e && isJsonSpace(bytes[s]!)) s++;
    while (e > s && isJsonSpace(bytes[e - 1]!)) e--;
    if (s === e) continue;
    const raw = bytes.toString('utf8', s, e);
    // String.prototype.trim's other Unicode spaces count as blank around a line too.
    const line = raw.trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      invalid('json');
      continue;
    }
    if (fast?.(json)) {
      // Bytes that were not UTF-8 decoded as U+FFFD: the notice then carries the decoded text.
      const exact = line.length === raw.length && !raw.includes(REPLACEMENT);
      yield { event: json as EgressEvent, start: exact ? s : -1, end: exact ? e : -1 };
      continue;
    }
    const r = EgressEvent.safeParse(json);
    if (!r.success) {
      invalid('schema');
      continue;
    }
    yield { event: r.data, start: -1, end: -1 };
  }
}

/** The events with their line as a string where it is exactly the event's JSON (tests, tools). */
export function* egressLinesWithJson(payload: string | Uint8Array, invalid: (why: InvalidLine) => void): Generator<{ event: EgressEvent; json: string | undefined }> {
  const bytes = batchBytes(payload);
  for (const { event, start, end } of egressLinesIn(bytes, invalid)) yield { event, json: start < 0 ? undefined : bytes.toString('utf8', start, end) };
}

export function* egressLines(payload: string | Uint8Array, invalid: (why: InvalidLine) => void): Generator<EgressEvent> {
  for (const { event } of egressLinesIn(batchBytes(payload), invalid)) yield event;
}
