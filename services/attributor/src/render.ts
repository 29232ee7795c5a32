// Stage 5 of a raw batch (batch-pipeline.ts), pure: decoded, attributed, named records → NDJSON
// messages grouped by subject. Every record becomes exactly one line (unknown cgroups included,
// D27). Output ids are deterministic in the batch and the records' attribution, so a redelivered
// raw batch republishes the same Nats-Msg-Ids and JetStream drops the copies.
import { eventId } from '@sluice/contracts';
import { ByteWriter, Run, type Buffers } from './byte-writer.ts';
import type { DecodedBatch, Lookup } from './decode.ts';
import { UNKNOWN, type Entry } from './identity.ts';

export interface OutMessage {
  subject: string;
  msgId: string;
  data: Uint8Array;
  count: number;
}

export interface Rendered {
  messages: OutMessage[];
  attributed: { docker: number; registered: number; unknown: number };
  /** Egress records with a domain_hash: named (dst_host set) or not (the name was never learned). */
  hosts: { named: number; unnamed: number };
  /** The bytes every message's data is a slice of (to give back to `buffers` once nothing reads them). */
  buffer: Uint8Array;
}

const CLOSE = 0x7d; // }
const NEWLINE = 0x0a;
const TIME = Run.latin1('","time":"');
const DST_HOST = Run.latin1(',"dst_host":');
const DST_HOST_STALE = Run.latin1(',"dst_host_stale":true');
/** A line's parts besides identity, fields and name: id's seq, time, quotes, braces, the newline. */
const LINE_SLACK = 64;

/**
 * `hosts[i]`: record i's dst_host (host-names.ts nameBatch); without it no destination is named.
 * `buffers`: where the lines' buffer comes from (default a new one). `found[i]`: what `lookup`
 * answers for record i now, looked up already (batch-pipeline.ts); absent: each is looked up here.
 */
export function renderBatch(
  batch: DecodedBatch,
  lookup: Lookup,
  maxMessageBytes: number,
  hosts?: ReadonlyArray<string | undefined>,
  buffers?: Buffers,
  found?: ReadonlyArray<Entry | undefined>,
): Rendered {
  const { node, bootId, firstSeq } = batch.meta;
  const { records, codec, view, body } = batch;
  const n = records.length;
  // Every line is `{"id":"<node>:<boot>:<seq>","time":"<iso>","node":…<identity><fields><host>}`.
  // One pass routes each record to its subject; the second writes every line once, subject by
  // subject, into one buffer, so each message is a slice of it: the per-batch and per-identity
  // parts encoded once, the record's own fields straight from its kernel bytes (fields-writer.ts).
  const head = Run.utf8(`{"id":${JSON.stringify(`${node}:${bootId}:`).slice(0, -1)}`);
  const nodeField = Run.utf8(`","node":${JSON.stringify(node)}`);
  const entries: Entry[] = new Array(n);
  const groups = new Map<string, number[]>();
  const attributed = { docker: 0, registered: 0, unknown: 0 };
  let named = 0;
  let unnamed = 0;
  const fixed = head.length + nodeField.length + LINE_SLACK;
  let estimate = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    if (!r) continue;
    const entry = (found ? found[i] : lookup(node, r.cgroupId, r.wallMs)) ?? UNKNOWN;
    if (entry === UNKNOWN) attributed.unknown++;
    else attributed[entry.identity.attribution]++;
    entries[i] = entry;
    const subject = r.out === 'dns' ? entry.dnsSubject : (entry.eventsSubjects[r.verdict!] ?? entry.eventsPrefix + r.verdict);
    let g = groups.get(subject);
    if (!g) groups.set(subject, (g = []));
    g.push(i);
    estimate += fixed + entry.fragmentBytes.length + 360;
  }
  // Room for the batch's lines, typical size; a batch of longer ones grows it (ByteWriter.ensure).
  const w = new ByteWriter(estimate, buffers);
  /** The JSON of each name, encoded once a batch. */
  const hostJson = new Map<string, Run>();
  const iso = new Uint8Array(20);
  let isoPrefix = false;
  let lastSec = NaN;
  const starts: number[] = [];
  const ends = new Array<number>(n);
  let line = 0;
  for (const g of groups.values()) {
    starts.push(line);
    for (let k = 0; k < g.length; k++) {
      const i = g[k]!;
      const r = records[i]!;
      const frag = entries[i]!.fragmentBytes;
      let host: string | undefined;
      if (r.domainHash !== 0n && r.out === 'egress') {
        host = hosts?.[i];
        if (host === undefined) unnamed++;
        else named++;
      }
      w.ensure(fixed + frag.length + (r.fields === undefined ? codec.fieldsBound(r) : r.fields.length * 3) + (host === undefined ? 0 : host.length * 6 + 48));
      w.run(head);
      w.uint(firstSeq + i);
      w.run(TIME);
      // `YYYY-MM-DDTHH:mm:ss.` is formatted once a second (lines go subject by subject, so their
      // times are not in order), the milliseconds digit by digit.
      const ms = r.wallMs;
      const sec = Math.floor(ms / 1000);
      if (sec !== lastSec) {
        lastSec = sec;
        const s = new Date(sec * 1000).toISOString();
        // Years outside 0000–9999 are spelled longer (±YYYYYY): whole, each time.
        isoPrefix = s.length === 24;
        for (let c = 0; c < 20; c++) iso[c] = s.charCodeAt(c);
      }
      if (isoPrefix) {
        w.bytesN(iso, 20);
        w.digits3(ms - sec * 1000);
        w.byte(0x5a); // Z
      } else w.ascii(new Date(ms).toISOString());
      w.run(nodeField);
      w.bytes(frag);
      if (r.fields === undefined) codec.writeFields(w, view, body, r);
      else w.utf8(r.fields);
      if (host !== undefined) {
        let json = hostJson.get(host);
        if (json === undefined) hostJson.set(host, (json = Run.utf8(JSON.stringify(host))));
        w.run(DST_HOST);
        w.run(json);
        if (r.hostStale) w.run(DST_HOST_STALE);
      }
      w.byte(CLOSE);
      w.byte(NEWLINE);
      ends[line++] = w.pos;
    }
  }
  const out = w.buf;
  const messages: OutMessage[] = [];
  let gi = 0;
  for (const [subject, recs] of groups) {
    const first = starts[gi++]!;
    // Split under the size bound, whole lines each; the id names the first event and the count.
    let start = 0;
    while (start < recs.length) {
      const from = first + start === 0 ? 0 : ends[first + start - 1]!;
      let end = start + 1;
      while (end < recs.length && ends[first + end]! - from <= maxMessageBytes) end++;
      messages.push({
        subject,
        msgId: `${eventId(node, bootId, firstSeq + recs[start]!)}+${end - start}`,
        data: out.subarray(from, ends[first + end - 1]!),
        count: end - start,
      });
      start = end;
    }
  }
  return { messages, attributed, hosts: { named, unnamed }, buffer: out };
}
