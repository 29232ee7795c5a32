// A batch's messages as NATS protocol bytes, in one buffer, for the batch publisher to hand to the
// connection in one piece. nats.js's publish, per message, encodes its protocol line with a
// TextEncoder and queues three buffers, then every 32 KiB copies what it queued into a new
// zero-filled buffer and writes that to the socket: at a few records a message (the attributor:
// one message per workload, verdict and DNS of each raw batch) that is a large share of the cost
// of publishing. Here each message's frame is `HPUB <subject> <reply> <hlen> <total>\r\n`, its
// header block, its data and a CRLF, exactly as nats.js writes it, copied once.

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
