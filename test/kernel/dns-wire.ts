import { formatIpv6 } from '@sluice/contracts';

// DNS on the wire for the kernel tests: a response builder (with name compression, CNAME chains)
// and a reference reader that applies exactly the kernel parser's rules (bpf/dns.h), so a fuzz
// corpus can be judged case by case: the kernel must attribute what the reference reads, and
// nothing when the reference rejects the message.

export type RR =
  | { name: string; type: 'A' | 'AAAA'; ttl: number; addr: string }
  | { name: string; type: 'CNAME'; ttl: number; target: string };

export interface Response {
  id?: number;
  qname: string;
  qtype?: number;
  rcode?: number;
  answers?: RR[];
  /** Compress owner names and targets (default true). */
  compress?: boolean;
}

export const QTYPE = { A: 1, CNAME: 5, AAAA: 28 } as const;

function ipv4(addr: string): number[] {
  return addr.split('.').map(Number);
}

function ipv6(addr: string): number[] {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g || '0', 16);
    return [v >> 8, v & 0xff];
  });
}

/** Builds a DNS response message. */
export function buildResponse(r: Response): Buffer {
  const out: number[] = [];
  const dict = new Map<string, number>();
  const compress = r.compress ?? true;
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number) => out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const name = (n: string, allowPointer: boolean) => {
    const labels = n.split('.').filter(Boolean);
    for (let i = 0; i < labels.length; i++) {
      const rest = labels.slice(i).join('.');
      const at = dict.get(rest);
      if (allowPointer && compress && at !== undefined) {
        u16(0xc000 | at);
        return;
      }
      if (out.length < 0x3fff) dict.set(rest, out.length);
      const b = Buffer.from(labels[i]!, 'latin1');
      out.push(b.length, ...b);
    }
    out.push(0);
  };
  u16(r.id ?? 0x1234);
  out.push(0x81, 0x80 | (r.rcode ?? 0)); // QR RD RA
  u16(1);
  u16(r.answers?.length ?? 0);
  u16(0);
  u16(0);
  name(r.qname, false);
  u16(r.qtype ?? QTYPE.A);
  u16(1);
  for (const a of r.answers ?? []) {
    name(a.name, true);
    u16(QTYPE[a.type]);
    u16(1);
    u32(a.ttl);
    if (a.type === 'CNAME') {
      const lenAt = out.length;
      u16(0);
      const start = out.length;
      name(a.target, true);
      const len = out.length - start;
      out[lenAt] = len >> 8;
      out[lenAt + 1] = len & 0xff;
    } else {
      const data = a.type === 'A' ? ipv4(a.addr) : ipv6(a.addr);
      u16(data.length);
      out.push(...data);
    }
  }
  return Buffer.from(out);
}

/** Replaces the id and question of a query with the answer for it. */
export function parseQuery(q: Buffer): { id: number; qname: string; qtype: number } | undefined {
  if (q.length < 12) return undefined;
  const labels: string[] = [];
  let o = 12;
  while (o < q.length && q[o] !== 0) {
    const len = q[o]!;
    labels.push(q.subarray(o + 1, o + 1 + len).toString('latin1'));
    o += len + 1;
  }
  if (o + 5 > q.length) return undefined;
  return { id: q.readUInt16BE(0), qname: labels.join('.'), qtype: q.readUInt16BE(o + 1) };
}

export interface Attribution {
  addr: string;
  ttl: number;
}

export type Reading = { ok: false; why: string } | { ok: true; qname: string; qtype: number; rcode: number; answers: Attribution[] };

const WINDOW = 1024; // SLUICE_DNS_BUF
const MAX_ANSWERS = 64; // SLUICE_DNS_MAX_ANSWERS

function fmt4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

const fmt6 = formatIpv6;

/** What the kernel parser makes of a message (bpf/dns.h, rule for rule). */
export function readLikeKernel(msg: Buffer): Reading {
  const partial = msg.length > WINDOW;
  const n = Math.min(msg.length, WINDOW);
  const b = msg.subarray(0, n);
  if (n < 12) return { ok: false, why: 'short' };
  if (!(b[2]! & 0x80) || b[2]! & 0x78 || b[4] !== 0 || b[5] !== 1) return { ok: false, why: 'header' };
  const rcode = b[3]! & 0x0f;
  const ancount = (b[6]! << 8) | b[7]!;
  let off = 12;
  let name = '';
  let rem = 0;
  let done = false;
  for (let i = 0; i < 256; i++) {
    if (off >= n) return { ok: false, why: 'qname past end' };
    let c = b[off++]!;
    if (rem === 0) {
      if (c === 0) {
        done = true;
        break;
      }
      if (c > 63) return { ok: false, why: 'qname pointer' };
      if (name.length) name += '.';
      rem = c;
    } else {
      if (c === 0x2e || c <= 0x20 || c >= 0x7f) return { ok: false, why: 'dot, control or non-ASCII byte in a label' };
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      name += String.fromCharCode(c);
      rem--;
    }
    if (name.length > 253) return { ok: false, why: 'name too long' };
  }
  if (!done || !name.length || off + 4 > n) return { ok: false, why: 'question' };
  const qtype = (b[off]! << 8) | b[off + 1]!;
  off += 4;
  const answers: Attribution[] = [];
  const nans = Math.min(ancount, MAX_ANSWERS);
  for (let i = 0; i < nans; i++) {
    let ended = false;
    for (let k = 0; k < 128; k++) {
      if (off >= n) {
        ended = true;
        break;
      }
      const c = b[off]!;
      if (c === 0) {
        off += 1;
        break;
      }
      if ((c & 0xc0) === 0xc0) {
        off += 2;
        break;
      }
      if (c & 0xc0) return { ok: false, why: 'label type' };
      off += c + 1;
      if (k === 127) return { ok: false, why: 'owner too long' };
    }
    if (!ended && off + 10 > n) ended = true;
    let o = off + 10;
    const rdlen = ended ? 0 : (b[off + 8]! << 8) | b[off + 9]!;
    if (!ended && o + rdlen > n) ended = true;
    if (ended) {
      if (!partial) return { ok: false, why: 'answer past end' };
      break;
    }
    const type = (b[off]! << 8) | b[off + 1]!;
    const cls = (b[off + 2]! << 8) | b[off + 3]!;
    let ttl = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
    if (ttl > 0x7fffffff) ttl = 0;
    if (cls === 1 && type === 1 && rdlen === 4) answers.push({ addr: fmt4(b, o), ttl });
    if (cls === 1 && type === 28 && rdlen === 16) answers.push({ addr: fmt6(b, o), ttl });
    o += rdlen;
    off = o;
  }
  return { ok: true, qname: name, qtype, rcode, answers };
}
