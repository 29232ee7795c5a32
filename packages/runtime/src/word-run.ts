// A constant byte run kept also as little-endian 32-bit words. Writers that put many short
// constant runs into a buffer (the attributor's render, the publisher's frames) store them a word
// a step through a DataView, where a TypedArray set costs a 20–80 ns call whatever its length. A
// writer storing the last word may write up to 3 bytes past the run; it must write at least that
// many bytes after it in the same buffer.

export class WordRun {
  readonly length: number;
  readonly words: Uint32Array;

  constructor(readonly bytes: Uint8Array) {
    this.length = bytes.length;
    this.words = new Uint32Array(Math.ceil(bytes.length / 4));
    for (let k = 0; k < bytes.length; k++) this.words[k >> 2]! |= bytes[k]! << ((k & 3) * 8);
  }

  static latin1(s: string): WordRun {
    return new WordRun(Buffer.from(s, 'latin1'));
  }

  static utf8(s: string): WordRun {
    return new WordRun(Buffer.from(s, 'utf8'));
  }
}
