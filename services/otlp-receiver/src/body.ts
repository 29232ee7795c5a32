// Reading a request body within bounds: the declared length and the bytes actually sent are both
// held to `maxBytes`, and so is a gzip body once inflated (a small bomb must not become a large
// allocation). Each way out is a typed refusal the handler maps to a status.
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import type { Encoding } from './decode.ts';
import type { RefusalReason } from './metrics.ts';

export class Refusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/** `application/x-protobuf` or `application/json` (parameters such as charset aside), else 415. */
export function encodingOf(contentType: string | undefined): Encoding {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new Refusal(
    'unsupported_media_type',
    415,
    `content-type ${JSON.stringify(contentType ?? '')} is not supported: send application/x-protobuf or application/json`,
  );
}

export function checkContentEncoding(value: string | undefined): 'gzip' | 'identity' {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip') return 'gzip';
  throw new Refusal('unsupported_encoding', 415, `content-encoding ${JSON.stringify(value)} is not supported: send gzip or none`);
}

/**
 * An oversized body is still read (and thrown away) up to this much before the 413 goes out:
 * answering while the sender is still writing, then closing, makes the kernel reset the connection,
 * and the sender may never read the answer. Past it the connection is cut as soon as answered.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

export function readBody(req: IncomingMessage, maxBytes: number, drainLimit = DRAIN_LIMIT_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let tooLarge: Refusal | undefined;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      fn();
    };
    if (Number.isFinite(declared) && declared > maxBytes) {
      tooLarge = new Refusal('too_large', 413, `body of ${declared} bytes is over the ${maxBytes}-byte limit`);
      if (declared > drainLimit) return finish(() => reject(tooLarge));
    }
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) tooLarge ??= new Refusal('too_large', 413, `body is over the ${maxBytes}-byte limit`);
      if (tooLarge) {
        chunks.length = 0;
        if (size > drainLimit) finish(() => reject(tooLarge));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => finish(() => (tooLarge ? reject(tooLarge) : resolve(Buffer.concat(chunks, size)))));
    req.on('error', (err) => finish(() => reject(new Refusal('aborted', 400, `request aborted: ${err.message}`))));
    req.on('aborted', () => finish(() => reject(new Refusal('aborted', 400, 'request aborted by the sender'))));
  });
}

export function inflate(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        return reject(new Refusal('too_large', 413, `gzip body inflates past the ${maxBytes}-byte limit`));
      }
      reject(new Refusal('malformed', 400, `gzip: ${err.message}`));
    });
  });
}
