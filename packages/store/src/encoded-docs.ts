// A message's documents encoded to UTF-8 once, into one buffer, for the time they wait in the sink.
// Held as JavaScript strings (ropes spliced from the input line), thousands of queued documents
// were copied by every young-generation collection they lived through, and each bulk flattened
// and encoded them again; in one off-heap buffer they are neither copied by the collector nor
// re-encoded: a bulk body copies their bytes.
//
// Each document may be preceded by its frame: the line the writer's wire format puts before it
// (OpenSearch's bulk action line, see DocumentWriter.frame). Then a message's documents lie in the
// buffer exactly as a bulk body wants them, and a bulk copies a run of them in one piece.

export interface EncodedDocs {
  utf8: Buffer;
  /**
   * Entry i (its frame, then its document, then a newline) is utf8[starts[i], starts[i + 1]);
   * starts has one more element than there are documents, the buffer's length.
   */
  starts: Uint32Array;
  /** Document i is utf8[docStarts[i], starts[i + 1] - 1): after its frame, before its newline. */
  docStarts: Uint32Array;
}

/**
 * Builds an EncodedDocs from its pieces: per document, its frame (or '') and the pieces of its
 * JSON. No string per document is made: the pieces are written into the buffer one by one (a
 * join of them, then an encoding of the joined string, cost three times as much).
 */
export class DocsEncoder {
  private readonly parts: string[] = [];
  private readonly starts: number[] = [];
  private readonly docStarts: number[] = [];
  private at = 0;

  get count(): number {
    return this.starts.length;
  }

  /** Start the next document with its frame (a complete line, newline included, or ''). */
  begin(frame: string): void {
    this.starts.push(this.at);
    if (frame !== '') this.push(frame);
    this.docStarts.push(this.at);
  }

  /** Append a piece of the current document's JSON (not empty). */
  push(part: string): void {
    this.parts.push(part);
    this.at += part.length;
  }

  /** End the current document: `tail` (its last characters, if any) and its newline. */
  end(tail: '' | '}' = ''): void {
    this.push(tail === '}' ? '}\n' : '\n');
  }

  finish(): EncodedDocs {
    const n = this.starts.length;
    const starts = new Uint32Array(n + 1);
    const docStarts = new Uint32Array(n);
    const ascii = this.writeAscii();
    if (ascii !== undefined) {
      // Every character was ASCII, so positions in characters are positions in bytes.
      for (let i = 0; i < n; i++) {
        starts[i] = this.starts[i]!;
        docStarts[i] = this.docStarts[i]!;
      }
      starts[n] = ascii.length;
      return { utf8: ascii, starts, docStarts };
    }
    const joined = this.parts.join('');
    const utf8 = Buffer.from(joined, 'utf8');
    // Boundaries sit next to ASCII ('{', '\n', a frame's own characters), never inside a
    // surrogate pair, so each slice between two of them encodes on its own as it does joined.
    let chars = 0;
    let bytes = 0;
    const to = (c: number) => {
      bytes += Buffer.byteLength(joined.slice(chars, c));
      chars = c;
      return bytes;
    };
    for (let i = 0; i < n; i++) {
      starts[i] = to(this.starts[i]!);
      docStarts[i] = to(this.docStarts[i]!);
    }
    starts[n] = utf8.length;
    return { utf8, starts, docStarts };
  }

  /**
   * The pieces written as UTF-8 into a buffer of one byte per character, or undefined when one was
   * not ASCII. A piece is ASCII exactly when it writes as many bytes as it has characters: any
   * other UTF-16 unit takes two bytes or more. The 4 spare bytes make that hold for a write cut
   * short by the end of the buffer too: one that stops short writes more than room - 4 bytes,
   * which is more than its length whenever room is its length, the rest's and 4 more.
   */
  private writeAscii(): Buffer | undefined {
    const buf = Buffer.allocUnsafe(this.at + 4);
    let at = 0;
    for (const part of this.parts) {
      const wrote = (buf as unknown as { utf8Write(s: string, at: number): number }).utf8Write(part, at);
      if (wrote !== part.length) return undefined;
      at += wrote;
    }
    return buf.subarray(0, at);
  }
}

/** Documents already serialized, each after its frame when `frames` is given. */
export function encodeDocs(jsons: readonly string[], frames?: readonly string[]): EncodedDocs {
  const e = new DocsEncoder();
  for (let i = 0; i < jsons.length; i++) {
    e.begin(frames?.[i] ?? '');
    if (jsons[i] !== '') e.push(jsons[i]!);
    e.end();
  }
  return e.finish();
}

/** Document i of `e` as a string (decoded again: for the DLQ, a file, or a test). */
export function docAt(e: EncodedDocs, i: number): string {
  return e.utf8.toString('utf8', e.docStarts[i], e.starts[i + 1]! - 1);
}
