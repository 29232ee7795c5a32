// A message's documents encoded to UTF-8 once, into one buffer, for the time they wait in the sink.
// Held as JavaScript strings (ropes spliced from the input line), thousands of queued documents
// were copied by every young-generation collection they lived through, and each bulk flattened
// and encoded them again; in one off-heap buffer they are neither copied by the collector nor
// re-encoded: a bulk body copies their bytes.

export interface EncodedDocs {
  utf8: Buffer;
  /** Document i is utf8[offsets[i], offsets[i + 1] - 1); the byte between is a newline. */
  offsets: Uint32Array;
}

export function encodeDocs(jsons: readonly string[]): EncodedDocs {
  const joined = jsons.join('\n');
  const utf8 = Buffer.from(joined, 'utf8');
  const offsets = new Uint32Array(jsons.length + 1);
  // As many bytes as characters: every character was ASCII, so lengths in characters are in bytes.
  const ascii = utf8.length === joined.length;
  let at = 0;
  for (let i = 0; i < jsons.length; i++) {
    at += (ascii ? jsons[i]!.length : Buffer.byteLength(jsons[i]!)) + 1;
    offsets[i + 1] = at;
  }
  return { utf8, offsets };
}
