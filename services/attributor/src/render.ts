// Stage 5 of a raw batch (batch-pipeline.ts), pure: decoded, attributed, named records → NDJSON
// messages grouped by subject. Every record becomes exactly one line (unknown cgroups included,
// D27). Output ids are deterministic in the batch and the records' attribution, so a redelivered
// raw batch republishes the same Nats-Msg-Ids and JetStream drops the copies.
import { eventId } from '@sluice/contracts';
import { wallMs, type DecodedBatch, type Lookup } from './decode.ts';
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
}

const NON_ASCII = /[^\x00-\x7f]/;
const CLOSE = 0x7d; // }
const NEWLINE = 0x0a;

/** Node's Buffer has had these since 0.x (the encodings of buf.write without its argument parsing); @types/node does not list them. */
type RawBuffer = Buffer & { latin1Write(s: string, offset: number): number; utf8Write(s: string, offset: number): number };

/** One subject's records, in batch order, and the UTF-8 size of their lines. */
interface Group {
  records: number[];
  bytes: number;
}

/** `hosts[i]`: record i's dst_host (host-names.ts nameBatch); without it no destination is named. */
export function renderBatch(batch: DecodedBatch, lookup: Lookup, maxMessageBytes: number, hosts?: ReadonlyArray<string | undefined>): Rendered {
  const { node, bootId, firstSeq, wallOffsetNs } = batch.meta;
  const n = batch.records.length;
  // Every line is `{"id":"<node>:<boot>:<seq>","time":"<iso>","node":…<identity><fields><host>}`.
  // Lines are written straight into each message's bytes: the per-batch and per-identity parts
  // are encoded once, the rest is ASCII except where decode or a name says otherwise. Joining the
  // lines as one string and encoding that cost as much as everything else in render (two-byte
  // strings, as soon as one label value is not Latin-1, encode slowly).
  const head = Buffer.from(`{"id":${JSON.stringify(`${node}:${bootId}:`).slice(0, -1)}`, 'utf8');
  const nodeField = Buffer.from(`,"node":${JSON.stringify(node)}`, 'utf8');
  const entries: Entry[] = new Array(n);
  const mids: string[] = new Array(n); // `<seq>","time":"<iso>"`, ASCII
  const tails: string[] = new Array(n); // dst_host members, '' when none
  const tailBytes = new Array<number>(n);
  const fieldBytes = new Array<number>(n);
  const groups = new Map<string, Group>();
  const attributed = { docker: 0, registered: 0, unknown: 0 };
  let named = 0;
  let unnamed = 0;
  let lastMs = NaN;
  let lastIso = '';
  const fixed = head.length + nodeField.length + 2; // + `}` and the newline
  for (let i = 0; i < n; i++) {
    const r = batch.records[i];
    if (!r) continue;
    const ms = wallMs(r.tsNs, wallOffsetNs);
    // Records of a batch cluster within milliseconds: reuse the last rendered timestamp.
    if (ms !== lastMs) [lastMs, lastIso] = [ms, new Date(ms).toISOString()];
    const entry = lookup(node, r.cgroupId, ms) ?? UNKNOWN;
    if (entry === UNKNOWN) attributed.unknown++;
    else attributed[entry.identity.attribution]++;
    const seq = firstSeq + i;
    let tail = '';
    let tb = 0;
    if (r.domainHash !== 0n && r.out === 'egress') {
      const name = hosts?.[i];
      if (name === undefined) unnamed++;
      else {
        named++;
        tail = r.hostStale ? `,"dst_host":${JSON.stringify(name)},"dst_host_stale":true` : `,"dst_host":${JSON.stringify(name)}`;
        tb = NON_ASCII.test(name) ? Buffer.byteLength(tail) : tail.length;
      }
    }
    const mid = `${seq}","time":"${lastIso}"`;
    const fb = r.fieldsAscii ? r.fields.length : Buffer.byteLength(r.fields);
    entries[i] = entry;
    mids[i] = mid;
    tails[i] = tail;
    tailBytes[i] = tb;
    fieldBytes[i] = fb;
    const subject = r.out === 'dns' ? entry.dnsSubject : (entry.eventsSubjects[r.verdict!] ?? entry.eventsPrefix + r.verdict);
    let g = groups.get(subject);
    if (!g) groups.set(subject, (g = { records: [], bytes: 0 }));
    g.records.push(i);
    g.bytes += fixed + mid.length + entry.fragmentBytes.length + fb + tb;
  }
  const lineBytes = (i: number) => fixed + mids[i]!.length + entries[i]!.fragmentBytes.length + fieldBytes[i]! + tailBytes[i]!;
  const write = (records: number[], from: number, to: number, bytes: number): Uint8Array => {
    const buf = Buffer.allocUnsafe(bytes) as RawBuffer;
    let o = 0;
    for (let k = from; k < to; k++) {
      const i = records[k]!;
      const r = batch.records[i]!;
      buf.set(head, o);
      o += head.length;
      o += buf.latin1Write(mids[i]!, o);
      buf.set(nodeField, o);
      o += nodeField.length;
      const frag = entries[i]!.fragmentBytes;
      buf.set(frag, o);
      o += frag.length;
      o += r.fieldsAscii ? buf.latin1Write(r.fields, o) : buf.utf8Write(r.fields, o);
      if (tailBytes[i]! > 0) o += buf.utf8Write(tails[i]!, o);
      buf[o++] = CLOSE;
      buf[o++] = NEWLINE;
    }
    if (o !== bytes) throw new Error(`render: wrote ${o} bytes, measured ${bytes}`);
    return buf;
  };
  const messages: OutMessage[] = [];
  for (const [subject, g] of groups) {
    const recs = g.records;
    // Split under the size bound; the id names the first event and the count.
    let start = 0;
    while (start < recs.length) {
      let end = start;
      let bytes = 0;
      if (g.bytes <= maxMessageBytes && start === 0) [end, bytes] = [recs.length, g.bytes];
      else {
        while (end < recs.length) {
          const b = lineBytes(recs[end]!);
          if (end > start && bytes + b > maxMessageBytes) break;
          bytes += b;
          end++;
        }
      }
      messages.push({
        subject,
        msgId: `${eventId(node, bootId, firstSeq + recs[start]!)}+${end - start}`,
        data: write(recs, start, end, bytes),
        count: end - start,
      });
      start = end;
    }
  }
  return { messages, attributed, hosts: { named, unnamed } };
}
