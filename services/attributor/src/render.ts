// Stage 5 of a raw batch (batch-pipeline.ts), pure: decoded, attributed, named records → NDJSON
// messages grouped by subject. Every record becomes exactly one line (unknown cgroups included,
// D27). Output ids are deterministic in the batch and the records' attribution, so a redelivered
// raw batch republishes the same Nats-Msg-Ids and JetStream drops the copies.
import { eventId } from '@sluice/contracts';
import { wallMs, type DecodedBatch, type Lookup } from './decode.ts';
import { UNKNOWN } from './identity.ts';

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
