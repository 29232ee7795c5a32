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

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new Refusal('too_large', 413, `body of ${declared} bytes is over the ${maxBytes}-byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        reject(new Refusal('too_large', 413, `body is over the ${maxBytes}-byte limit`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new Refusal('aborted', 400, `request aborted: ${err.message}`));
    });
    req.on('aborted', () => {
      if (done) return;
      done = true;
      reject(new Refusal('aborted', 400, 'request aborted by the sender'));
    });
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
