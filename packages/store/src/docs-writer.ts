// A message's documents written as UTF-8 straight into one growing buffer, in bulk-body order
// (frame, document, newline), with their byte offsets kept as they are written: the EncodedDocs
// that parseBatch hands the pipeline. Unlike DocsEncoder (encoded-docs.ts), which gathers string
// pieces and encodes them all at the end, this writer takes the input line's own bytes as a copy:
// the line is most of a document, and copying its bytes is a memcpy where encoding its string
// again was the sink's second largest per-document cost.
import type { EncodedDocs } from './encoded-docs.ts';

/** Node's Buffer has had this since 0.x (buf.write without its argument parsing); @types/node does not list it. */
type RawBuffer = Buffer & { utf8Write(s: string, offset: number): number };

const NEWLINE = 0x0a;
const CLOSE = 0x7d; // }

export class DocsWriter {
  private buf: RawBuffer;
  private at = 0;
  private readonly starts: number[] = [];
  private readonly docStarts: number[] = [];

  /** `hint`: the expected total size in bytes (the buffer grows past it when needed). */
  constructor(hint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(256, hint)) as RawBuffer;
  }

  get count(): number {
    return this.starts.length;
  }

  /**
   * Start the next document: its frame (a whole line, or '') and the first part of its JSON,
   * written in one call (a native write per piece cost more than joining them). Where the
   * document starts follows from the bytes written: when they are as many as the characters, all
   * were ASCII and the frame's bytes are its characters; otherwise the frame is measured.
   */
  begin(frame: string, head: string): void {
    const at = this.at;
    this.starts.push(at);
    const s = frame === '' ? head : frame + head;
    this.room(s.length * 3);
    const wrote = this.buf.utf8Write(s, at);
    this.at += wrote;
    this.docStarts.push(frame === '' ? at : wrote === s.length ? at + frame.length : at + Buffer.byteLength(frame));
  }

  /**
   * Start the next document with its frame (a whole line, or ''), making room for `reserve` bytes
   * of it that `put` then writes without checking.
   */
  open(frame: string, reserve: number): void {
    this.start(frame.length * 3 + reserve);
    if (frame !== '') this.at += this.buf.utf8Write(frame, this.at);
    this.docStart();
  }

  /** Start the next entry with room for `reserve` bytes, which `put` writes: its frame, then `docStart()`, then its document. */
  start(reserve: number): void {
    this.starts.push(this.at);
    this.room(reserve);
  }

  /** The current entry's document begins here (after its frame). */
  docStart(): void {
    this.docStarts.push(this.at);
  }

  /** Append bytes [from, to) of `src` into the room `open` made. */
  put(src: Uint8Array, from: number, to: number): void {
    const buf = this.buf;
    let at = this.at;
    // Most pieces are a few bytes: a loop beats a native copy's call.
    if (to - from <= 32) for (let i = from; i < to; i++) buf[at++] = src[i]!;
    else at += Buffer.prototype.copy.call(src, buf, at, from, to);
    this.at = at;
  }

  /** Append a string's UTF-8. */
  text(s: string): void {
    // A UTF-16 unit never takes more than 3 bytes of UTF-8 (a surrogate pair: 2 units, 4 bytes).
    this.room(s.length * 3);
    this.at += this.buf.utf8Write(s, this.at);
  }

  /** Append bytes [from, to) of `src`, as they are. */
  bytes(src: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    this.buf.set(src.subarray(from, to), this.at);
    this.at += to - from;
  }

  /** End the current document: `}` when its JSON still needs its closing brace, then the newline. */
  end(close: boolean): void {
    this.room(2);
    if (close) this.buf[this.at++] = CLOSE;
    this.buf[this.at++] = NEWLINE;
  }

  finish(): EncodedDocs {
    const n = this.starts.length;
    const starts = new Uint32Array(n + 1);
    const docStarts = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      starts[i] = this.starts[i]!;
      docStarts[i] = this.docStarts[i]!;
    }
    starts[n] = this.at;
    return { utf8: this.buf.subarray(0, this.at), starts, docStarts };
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes)) as RawBuffer;
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}
