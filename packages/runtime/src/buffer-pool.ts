// Large byte buffers reused from batch to batch. Every new ArrayBuffer counts as external memory
// to V8, which scavenges early when that grows: at a few MiB a batch (the attributor's rendered
// lines, then their frames), those early scavenges were most of its garbage collection, each one
// copying whatever young objects were live. A buffer goes back only when nothing reads it any more
// (its owner's promise, documented where it is given back).
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** The buffers this pool made: only those come back (a small Buffer is a slice of node's shared slab). */
  private readonly own = new WeakSet<ArrayBufferLike>();

  constructor(private readonly keep = 8) {}

  /** A buffer of at least `min` bytes (its contents are old bytes, never zeroed). */
  take(min: number): Buffer {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.length >= min) {
        this.free.splice(i, 1);
        return b;
      }
    }
    const b = Buffer.allocUnsafeSlow(Math.max(min + (min >> 2), 64 * 1024));
    this.own.add(b.buffer);
    return b;
  }

  /** `b` (or any view of a buffer this pool made) is free to be handed out again. */
  give(b: Uint8Array): void {
    if (!this.own.has(b.buffer) || this.free.length >= this.keep) return;
    const whole = Buffer.from(b.buffer, 0, b.buffer.byteLength);
    if (!this.free.some((f) => f.buffer === whole.buffer)) this.free.push(whole);
  }
}
