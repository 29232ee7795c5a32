// The hot path, pure: raw batch bytes → attributed NDJSON messages, grouped by subject.
//
// Every record becomes exactly one line (unknown cgroups included, D27); only records the
// adapter cannot read are dropped, and each such drop is returned with its reason for the
// counters. Output ids are deterministic in the batch and the records' attribution, so a
// redelivered raw batch republishes the same Nats-Msg-Ids and JetStream drops the copies.
import { eventId, type RawBatchMeta } from '@sluice/contracts';
import { UNKNOWN, type Entry } from './identity.ts';
import { RecordError, type AttributableRecord, type RecordCodec } from './record.ts';

export interface DecodedBatch {
  meta: RawBatchMeta;
  /** Index i is record i of the batch; undefined where it could not be decoded. */
  records: Array<AttributableRecord | undefined>;
  /** reason → count of records dropped at decode. */
  errors: Map<string, number>;
}

export function decodeBatch(meta: RawBatchMeta, body: Uint8Array, codec: RecordCodec): DecodedBatch {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const records: Array<AttributableRecord | undefined> = new Array(meta.count);
  const errors = new Map<string, number>();
  for (let i = 0; i < meta.count; i++) {
    try {
      records[i] = codec.decode(view, body, i * codec.size, meta.wallOffsetNs);
    } catch (err) {
      const reason = err instanceof RecordError ? err.reason : 'decode_error';
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
      records[i] = undefined;
    }
  }
  return { meta, records, errors };
}

export function wallMs(tsNs: bigint, wallOffsetNs: bigint): number {
  return Number((tsNs + wallOffsetNs) / 1_000_000n);
}

export type Lookup = (node: string, cgroupId: string, wallMs: number) => Entry | undefined;

/** Cgroup ids of the batch the lookup cannot attribute (to resolve before rendering). */
export function misses(batch: DecodedBatch, lookup: Lookup): Set<string> {
  const out = new Set<string>();
  const { node, wallOffsetNs } = batch.meta;
  for (const r of batch.records) {
    if (r && !out.has(r.cgroupId) && !lookup(node, r.cgroupId, wallMs(r.tsNs, wallOffsetNs))) out.add(r.cgroupId);
  }
  return out;
}

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

/** `hosts[i]`: record i's dst_host (host-names.ts nameBatch); without it no destination is named. */
export function renderBatch(batch: DecodedBatch, lookup: Lookup, maxMessageBytes: number, hosts?: ReadonlyArray<string | undefined>): Rendered {
  const { node, bootId, firstSeq, wallOffsetNs } = batch.meta;
  const idPrefix = JSON.stringify(`${node}:${bootId}:`).slice(0, -1);
  const nodeField = `,"node":${JSON.stringify(node)}`;
  const groups = new Map<string, { lines: string[]; seqs: number[] }>();
  const attributed = { docker: 0, registered: 0, unknown: 0 };
  let named = 0;
  let unnamed = 0;
  let lastMs = NaN;
  let lastIso = '';
  for (let i = 0; i < batch.records.length; i++) {
    const r = batch.records[i];
    if (!r) continue;
    const ms = wallMs(r.tsNs, wallOffsetNs);
    // Records of a batch cluster within milliseconds: reuse the last rendered timestamp.
    if (ms !== lastMs) [lastMs, lastIso] = [ms, new Date(ms).toISOString()];
    const entry = lookup(node, r.cgroupId, ms) ?? UNKNOWN;
    if (entry === UNKNOWN) attributed.unknown++;
    else attributed[entry.identity.attribution]++;
    const seq = firstSeq + i;
    let host = '';
    if (r.domainHash !== 0n && r.out === 'egress') {
      const name = hosts?.[i];
      if (name === undefined) unnamed++;
      else {
        named++;
        host = r.hostStale ? `,"dst_host":${JSON.stringify(name)},"dst_host_stale":true` : `,"dst_host":${JSON.stringify(name)}`;
      }
    }
    const line = `{"id":${idPrefix}${seq}","time":"${lastIso}"${nodeField}${entry.fragment}${r.fields}${host}}`;
    const subject = r.out === 'dns' ? entry.dnsSubject : entry.eventsPrefix + r.verdict;
    let g = groups.get(subject);
    if (!g) groups.set(subject, (g = { lines: [], seqs: [] }));
    g.lines.push(line);
    g.seqs.push(seq);
  }
  const messages: OutMessage[] = [];
  for (const [subject, g] of groups) chunk(subject, g.lines, g.seqs, node, bootId, maxMessageBytes, messages);
  return { messages, attributed, hosts: { named, unnamed } };
}

/** Split one subject's lines into messages under the size bound; the id names the first event and the count. */
function chunk(
  subject: string,
  lines: string[],
  seqs: number[],
  node: string,
  bootId: string,
  maxBytes: number,
  out: OutMessage[],
): void {
  let chars = lines.length;
  for (const l of lines) chars += l.length;
  // A UTF-16 unit is at most 3 UTF-8 bytes: most groups fit without measuring each line.
  if (chars * 3 <= maxBytes) {
    out.push(message(subject, lines, node, bootId, seqs[0]!));
    return;
  }
  let start = 0;
  while (start < lines.length) {
    let bytes = 0;
    let end = start;
    while (end < lines.length) {
      const n = Buffer.byteLength(lines[end]!) + 1;
      if (end > start && bytes + n > maxBytes) break;
      bytes += n;
      end++;
    }
    out.push(message(subject, lines.slice(start, end), node, bootId, seqs[start]!));
    start = end;
  }
}

function message(subject: string, lines: string[], node: string, bootId: string, firstSeq: number): OutMessage {
  return {
    subject,
    msgId: `${eventId(node, bootId, firstSeq)}+${lines.length}`,
    data: Buffer.from(lines.join('\n') + '\n', 'utf8'),
    count: lines.length,
  };
}
