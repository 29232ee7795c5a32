// The one file that knows what a kernel record is: it turns a 256-byte record (bpf/record.h, laid
// out in kernel-layout.ts) into the AttributableRecord the batch stages work on: what routing,
// attribution and naming need (cgroup, time, verdict, domain hash, a DNS record's name), read
// straight from the DataView because this runs for every record (≥ 300k/s goal). The event's
// fields are written later, as bytes, straight from the record into the message (fields-writer.ts);
// only the rare kinds (escape, suppressed) are rendered here as a string.
import { TextDecoder } from 'node:util';
import { decodeSuppressed, formatKernelAddr, KERNEL_AF_INET, KERNEL_AF_INET6, KERNEL_FLAG } from '@sluice/contracts';
import { ByteWriter } from './byte-writer.ts';
import { DNS_FIELDS_MAX, EGRESS_FIELDS_MAX, writeDnsFields, writeEgressFields } from './fields-writer.ts';
import { COMM_LEN, KIND, KIND_NAMES, OFF, PROTOS, QNAME_LEN, RECORD_SIZE, RECORD_VERSION, VERDICT_NAMES } from './kernel-layout.ts';
import { RecordError, type AttributableRecord, type RecordCodec } from './record.ts';

export { KIND, OFF, RECORD_SIZE, RECORD_VERSION } from './kernel-layout.ts';

const F_HOST_STALE = KERNEL_FLAG.host_stale;
const AF_INET = KERNEL_AF_INET;
const AF_INET6 = KERNEL_AF_INET6;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function cstring(bytes: Uint8Array, start: number, max: number, dec: TextDecoder): string {
  let end = start;
  let ascii = true;
  const limit = start + max;
  // The index moves on every byte whatever ascii already is: `ascii && bytes[end++]` would stop
  // advancing at the first byte ≥ 0x80 and spin forever (an agent picks its own comm).
  while (end < limit && bytes[end] !== 0) {
    if (bytes[end]! >= 0x80) ascii = false;
    end++;
  }
  // TextDecoder costs more than the whole rest of a short comm; plain ASCII needs none of it. One
  // native slice, flat: a string built a character at a time cost ~4× as much by the time it was
  // hashed as a Map key (a DNS record's name, learnt by dns-names.ts).
  if (!ascii) return dec.decode(bytes.subarray(start, end));
  return latin1Slice.call(bytes, start, end);
}

type Slice = (this: Uint8Array, start: number, end: number) => string;

/** Node's own latin-1 slice (what Buffer#toString('latin1') calls), on any Uint8Array; a loop where a runtime lacks it. */
const latin1Slice: Slice =
  (Buffer.prototype as unknown as { latin1Slice?: Slice }).latin1Slice ??
  function (this: Uint8Array, start: number, end: number): string {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(this[i]!);
    return s;
  };

// cgroup id → its decimal string. A batch holds a few cgroups many times over: one string per
// cgroup instead of a BigInt and a string per record, and the same string object every time, so
// the label cache's and the name table's Map lookups reuse its hash instead of hashing a new copy.
const cgroupIds = new Map<number, string>();
const CGROUP_IDS_MAX = 4096;

function cgroupIdAt(v: DataView, at: number): string {
  const hi = v.getUint32(at + 4, true);
  // Past 2^53 a double no longer keys it exactly (kernel cgroup ids are inode numbers: never in practice).
  if (hi >= 0x200000) return v.getBigUint64(at, true).toString();
  const key = hi * 0x1_0000_0000 + v.getUint32(at, true);
  let s = cgroupIds.get(key);
  if (s === undefined) {
    if (cgroupIds.size >= CGROUP_IDS_MAX) cgroupIds.clear();
    cgroupIds.set(key, (s = String(key)));
  }
  return s;
}

// The batch's wall offset split once into whole ms and the ns left over, so a record's wall ms
// needs no BigInt: floor((hi·2^32 + lo + off) / 10^6) with 2^32 = 4294·10^6 + 967296, exact for any u64.
let offsetKey: bigint | undefined;
let offsetMs = 0;
let offsetRestNs = 0;

function wallMsAt(v: DataView, at: number, wallOffsetNs: bigint): number {
  if (wallOffsetNs !== offsetKey) {
    offsetKey = wallOffsetNs;
    offsetMs = wallOffsetNs < 0n ? -1 : Number(wallOffsetNs / 1_000_000n);
    offsetRestNs = wallOffsetNs < 0n ? 0 : Number(wallOffsetNs % 1_000_000n);
  }
  // A clock set before boot: the plain BigInt sum (truncated as it always was).
  if (offsetMs < 0) return Number((v.getBigUint64(at, true) + wallOffsetNs) / 1_000_000n);
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  return offsetMs + hi * 4294 + Math.floor((hi * 967296 + lo + offsetRestNs) / 1e6);
}

function u64At(v: DataView, at: number): bigint {
  return v.getUint32(at, true) === 0 && v.getUint32(at + 4, true) === 0 ? 0n : v.getBigUint64(at, true);
}

export const kernelCodec: RecordCodec = {
  size: RECORD_SIZE,
  decode(v: DataView, b: Uint8Array, o: number, wallOffsetNs: bigint): AttributableRecord {
    const version = b[o + OFF.version]!;
    if (version !== RECORD_VERSION) throw new RecordError('bad_version', `record version ${version}, expected ${RECORD_VERSION}`);
    const kind = b[o + OFF.kind]!;
    const family = b[o + OFF.family]!;
    const suppressed = kind === KIND.suppressed;
    if (kind === KIND.counters) throw new RecordError('counters_record', 'counters records carry no event');
    if (!suppressed && (kind < 1 || kind > KIND_NAMES.length - 1 || kind === KIND.counters)) throw new RecordError('bad_kind', `record kind ${kind} is unknown`);
    if (family !== AF_INET && family !== AF_INET6) throw new RecordError('bad_family', `record family ${family} is not AF_INET/AF_INET6`);
    const cgroupId = cgroupIdAt(v, o + OFF.cgroup);
    const wallMs = wallMsAt(v, o + OFF.ts, wallOffsetNs);

    if (kind === KIND.dns) {
      // A forged answer teaches no name: its qname must not label the cgroup's connects.
      const qname = b[o + OFF.dnsRejected] ? undefined : cstring(b, o + OFF.dnsQname, QNAME_LEN, utf8);
      return { cgroupId, wallMs, out: 'dns', verdict: undefined, at: o, fields: undefined, domainHash: u64At(v, o + OFF.domainHash), hostStale: false, qname };
    }
    if (kind === KIND.escape || suppressed) {
      const pid = v.getUint32(o + OFF.pid, true);
      const cg = `,"cgroup_id":"${cgroupId}","pid":${pid},"comm":${JSON.stringify(cstring(b, o + OFF.comm, COMM_LEN, latin1))}`;
      if (kind === KIND.escape) return escapeRecord(v, o, cgroupId, wallMs, cg);
      return suppressedRecord(b, o, cgroupId, wallMs, cg, formatKernelAddr(b, o + OFF.dst, family), wallOffsetNs);
    }
    const verdict = VERDICT_NAMES[b[o + OFF.verdict]!];
    if (!verdict) throw new RecordError('bad_verdict', `record verdict ${b[o + OFF.verdict]} on a ${KIND_NAMES[kind]} record`);
    const flags = v.getUint32(o + OFF.flags, true);
    return { cgroupId, wallMs, out: 'egress', verdict, at: o, fields: undefined, domainHash: u64At(v, o + OFF.domainHash), hostStale: (flags & F_HOST_STALE) !== 0, qname: undefined };
  },
  fieldsBound(r: AttributableRecord): number {
    return r.out === 'dns' ? DNS_FIELDS_MAX : EGRESS_FIELDS_MAX;
  },
  writeFields(w: ByteWriter, v: DataView, b: Uint8Array, r: AttributableRecord): void {
    if (r.out === 'dns') writeDnsFields(w, v, b, r.at);
    else writeEgressFields(w, v, b, r.at);
  },
};

/** A record's fields as text (what render writes into its line): for tests and tools, not the hot path. */
export function fieldsText(codec: RecordCodec, v: DataView, b: Uint8Array, r: AttributableRecord): string {
  if (r.fields !== undefined) return r.fields;
  const w = new ByteWriter(codec.fieldsBound(r));
  codec.writeFields(w, v, b, r);
  return w.buf.toString('utf8', 0, w.pos);
}

/** A task left the managed scope: BYPASSED (outside enforcement from then on), reason escape. */
function escapeRecord(v: DataView, o: number, cgroupId: string, wallMs: number, cg: string): AttributableRecord {
  const fields =
    `,"kind":"escape","verdict":"BYPASSED","audit":false,"reason":"escape","rule_id":0${cg}` +
    `,"tid":${v.getUint32(o + OFF.tid, true)},"family":"ipv4","l4_proto":"none","dst_ip":"0.0.0.0","dst_port":0` +
    `,"to_cgroup_id":"${v.getBigUint64(o + OFF.escapeTo, true)}"`;
  return { cgroupId, wallMs, out: 'egress', verdict: 'BYPASSED', at: o, fields, domainHash: 0n, hostStale: false, qname: undefined };
}

const iso = (tsNs: bigint, wallOffsetNs: bigint) => new Date(Number((tsNs + wallOffsetNs) / 1_000_000n)).toISOString();

/**
 * A rate-limit summary from the reader (P14): one `suppressed` event standing for `count` records
 * of this cgroup. Its verdict is the representative attempt's, or the most frequent one when the
 * representative was a DNS record (no verdict).
 */
function suppressedRecord(
  b: Uint8Array,
  o: number,
  cgroupId: string,
  wallMs: number,
  cg: string,
  dstIp: string,
  wallOffsetNs: bigint,
): AttributableRecord {
  const s = decodeSuppressed(b.subarray(o, o + RECORD_SIZE));
  let verdict = VERDICT_NAMES[b[o + OFF.verdict]!];
  if (!verdict) {
    const best = [1, 2, 3].reduce((x, y) => (s.byVerdict[y]! > s.byVerdict[x]! ? y : x));
    verdict = VERDICT_NAMES[best]!;
  }
  const l4 = b[o + OFF.l4proto]!;
  const fields =
    `,"kind":"suppressed","verdict":"${verdict}","audit":false,"reason":"none","rule_id":0${cg}` +
    `,"family":"${b[o + OFF.family] === AF_INET ? 'ipv4' : 'ipv6'}","l4_proto":"${PROTOS[l4] ?? String(l4)}"` +
    `,"dst_ip":"${dstIp}","dst_port":${b[o + OFF.dport]! | (b[o + OFF.dport + 1]! << 8)}` +
    `,"suppressed_count":${s.count},"first_time":"${iso(s.firstTsNs, wallOffsetNs)}","last_time":"${iso(s.lastTsNs, wallOffsetNs)}"`;
  return { cgroupId, wallMs, out: 'egress', verdict, at: o, fields, domainHash: 0n, hostStale: false, qname: undefined };
}
