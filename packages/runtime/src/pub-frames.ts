// A batch's messages as NATS protocol bytes, in one buffer, for the batch publisher to hand to the
// connection in one piece. nats.js's publish, per message, encodes its protocol line with a
// TextEncoder and queues three buffers, then every 32 KiB copies what it queued into a new
// zero-filled buffer and writes that to the socket: at a few records a message (the attributor:
// one message per workload, verdict and DNS of each raw batch) that is a large share of the cost
// of publishing. Here each message's frame is `HPUB <subject> <reply> <hlen> <total>\r\n`, its
// header block, its data and a CRLF, exactly as nats.js writes it, copied once.
import { WordRun } from './word-run.ts';

export interface Frame {
  subject: string;
  reply: string;
  /** The header block (`NATS/1.0\r\n…\r\n\r\n`). */
  headers: Uint8Array;
  data: Uint8Array;
}

type Utf8Buffer = Buffer & { utf8Write(s: string, offset: number): number };

const CRLF_0 = 0x0d;
const CRLF_1 = 0x0a;
// What nats.js refuses in a subject (it would end or split the protocol line).
const WHITESPACE = /\s/;

/** A frame nats.js would refuse to publish: the same checks, so the faster path refuses the same. */
export class FrameError extends Error {
  override name = 'FrameError';
}

function checkSubject(s: string, what: string): void {
  if (s.length === 0 || WHITESPACE.test(s)) throw new FrameError(`${what} ${JSON.stringify(s)} is empty or holds whitespace`);
}

/**
 * The frames, concatenated. `maxPayload`: the server's max_payload (headers and data of one
 * message). `alloc`: where the bytes go (a pool's buffer, at least that big; default a new one);
 * `ends`: filled with where each frame ends.
 */
export function encodeFrames(frames: readonly Frame[], maxPayload: number, alloc?: (size: number) => Buffer, ends?: Int32Array): Buffer {
  const lines = new Array<string>(frames.length);
  let size = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    checkSubject(f.subject, 'subject');
    checkSubject(f.reply, 'reply subject');
    const total = f.headers.length + f.data.length;
    if (total > maxPayload) throw new FrameError(`message on ${f.subject}: ${total} bytes exceed the server's max_payload (${maxPayload})`);
    const line = `HPUB ${f.subject} ${f.reply} ${f.headers.length} ${total}\r\n`;
    lines[i] = line;
    size += Buffer.byteLength(line, 'utf8') + total + 2;
  }
  const buf = (alloc ? alloc(size) : Buffer.allocUnsafe(size)) as Utf8Buffer;
  let o = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    o += buf.utf8Write(lines[i]!, o);
    buf.set(f.headers, o);
    o += f.headers.length;
    buf.set(f.data, o);
    o += f.data.length;
    buf[o++] = CRLF_0;
    buf[o++] = CRLF_1;
    if (ends) ends[i] = o;
  }
  return buf.length === size ? buf : buf.subarray(0, size);
}

/** A message of a JetStream batch (batch-publisher.ts): its header block is written here, not built first. */
export interface BatchFrame {
  subject: string;
  data: Uint8Array;
  /** Nats-Msg-Id; checked by the caller (no CR or LF). */
  msgId: string;
  /** Its own header lines (`Name: value\r\n`…), after the batch's shared ones. */
  headers?: string;
}

/** Past ~48 bytes one native set costs less than the words (~0.6 ns a byte). */
const WORDS_MAX_BYTES = 48;

function putWords(buf: Buffer, v: DataView, o: number, r: WordRun): number {
  if (r.length > WORDS_MAX_BYTES) buf.set(r.bytes, o);
  else {
    const w = r.words;
    for (let k = 0; k < w.length; k++) v.setUint32(o + k * 4, w[k]!, true);
  }
  return o + r.length;
}

const MSG_ID = new WordRun(Buffer.from('Nats-Msg-Id: ', 'latin1'));

/** Subjects seen (checked as encodeFrames checks them) → `HPUB <subject> ` as words: a batch's subjects recur batch after batch. */
const subjectWords = new Map<string, WordRun>();
const SUBJECTS_MAX = 4096;

function subjectOf(s: string): WordRun {
  let b = subjectWords.get(s);
  if (b === undefined) {
    checkSubject(s, 'subject');
    if (subjectWords.size >= SUBJECTS_MAX) subjectWords.clear();
    subjectWords.set(s, (b = new WordRun(Buffer.from(`HPUB ${s} `, 'utf8'))));
  }
  return b;
}

/** UTF-8 length of `s`: its length when it is ASCII (the common case, no native call). */
function utf8Length(s: string): number {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Decimal digits of a non-negative integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeUint(buf: Buffer, o: number, n: number): number {
  const end = o + digits(n);
  for (let e = end; e > o; ) {
    const q = Math.floor(n / 10);
    buf[--e] = 48 + (n - q * 10);
    n = q;
  }
  return end;
}

/** A short ASCII string byte by byte (a native call costs more); anything else as UTF-8. */
function writeString(buf: Utf8Buffer, o: number, s: string, bytes: number): number {
  if (bytes !== s.length || bytes > 24) return o + buf.utf8Write(s, o);
  for (let k = 0; k < bytes; k++) buf[o + k] = s.charCodeAt(k);
  return o + bytes;
}

/**
 * A batch's messages as frames, byte for byte what encodeFrames writes for the frames
 * `{ subject, reply: replyPrefix + i, headers: headerBlock(shared, msgId, headers), data }`
 * (pub-ack.ts), with the same refusals, but each header block written straight into the buffer.
 */
export function encodeBatchFrames(
  messages: readonly BatchFrame[],
  shared: string,
  replyPrefix: string,
  maxPayload: number,
  alloc?: (size: number) => Buffer,
  ends?: Int32Array,
): Buffer {
  const n = messages.length;
  // `NATS/1.0\r\n` and the shared lines: the head of every block.
  const head = new WordRun(Buffer.from(`NATS/1.0\r\n${shared}`, 'utf8'));
  const reply = new WordRun(Buffer.from(replyPrefix, 'utf8'));
  const subj = new Array<WordRun>(n);
  const hlens = new Int32Array(n);
  const ownLens = new Int32Array(n);
  const idLens = new Int32Array(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const sb = (subj[i] = subjectOf(m.subject));
    // In encodeFrames' order: the first frame's subject, then its reply (the index adds digits only, no whitespace).
    if (i === 0) checkSubject(`${replyPrefix}${i}`, 'reply subject');
    const own = m.headers === undefined ? 0 : utf8Length(m.headers);
    const id = utf8Length(m.msgId);
    ownLens[i] = own;
    idLens[i] = id;
    const hlen = (hlens[i] = head.length + own + MSG_ID.length + id + 4);
    const total = hlen + m.data.length;
    if (total > maxPayload) throw new FrameError(`message on ${m.subject}: ${total} bytes exceed the server's max_payload (${maxPayload})`);
    // HPUB <subject> <reply><i> <hlen> <total>\r\n
    size += sb.length + reply.length + digits(i) + 1 + digits(hlen) + 1 + digits(total) + 2 + total + 2;
  }
  const buf = (alloc ? alloc(size) : Buffer.allocUnsafe(size)) as Utf8Buffer;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const hlen = hlens[i]!;
    o = putWords(buf, v, o, subj[i]!);
    o = writeUint(buf, putWords(buf, v, o, reply), i);
    buf[o++] = 0x20;
    o = writeUint(buf, o, hlen);
    buf[o++] = 0x20;
    o = writeUint(buf, o, hlen + m.data.length);
    buf[o++] = CRLF_0;
    buf[o++] = CRLF_1;
    o = putWords(buf, v, o, head);
    if (m.headers !== undefined) o = writeString(buf, o, m.headers, ownLens[i]!);
    o = writeString(buf, putWords(buf, v, o, MSG_ID), m.msgId, idLens[i]!);
    buf[o++] = CRLF_0;
    buf[o++] = CRLF_1;
    buf[o++] = CRLF_0;
    buf[o++] = CRLF_1;
    const d = m.data;
    // Short data byte by byte; the rest is one native copy.
    if (d.length >= 64) buf.set(d, o);
    else for (let k = 0; k < d.length; k++) buf[o + k] = d[k]!;
    o += d.length;
    buf[o++] = CRLF_0;
    buf[o++] = CRLF_1;
    if (ends) ends[i] = o;
  }
  if (o !== size) throw new Error(`encodeBatchFrames wrote ${o} bytes, sized ${size}`);
  return buf.length === size ? buf : buf.subarray(0, size);
}
