// After the helper dies (kill -9, crash), the next one starts at the ring buffer's consumer
// position, which libbpf advances only after records were handed to the callback and the helper
// writes them out later: records the dead helper had already written can come again. Measured on
// this kernel: up to a few hundred per kill. Published twice they would be two events (distinct
// sequence ids) for one attempt, so the reader filters them.
//
// Re-deliveries are a prefix of the new stream repeating a suffix of the old one. The reader keeps
// the identity (ts_ns, cgroup_id, socket_cookie, pid, tid: bytes 16..48) of the last `window`
// records; after a restart, records found there are skipped until the first one that is not.
// A record torn by the kill was not delivered: if it comes again it is delivered, and only if
// it does not is it counted as lost (reason=decode).
import { OFF, RECORD_VERSION } from './layout.ts';

const ID_START = OFF.tsNs;
const ID_END = OFF.tsNs + 32;
const ID_LEN = ID_END - ID_START;

export class RedeliveryFilter {
  private readonly ring: Buffer;
  private written = 0;
  private recent: Set<string> | undefined;
  private tornId: string | undefined;
  redelivered = 0;

  constructor(
    private readonly window: number,
    /** A torn record that never came again: lost. */
    private readonly tornLost: () => void,
  ) {
    this.ring = Buffer.alloc(window * ID_LEN);
  }

  /** True if the kernel record at buf[off] repeats one already delivered (skip it). */
  repeated(buf: Buffer, off: number): boolean {
    if (this.recent) {
      const id = buf.toString('latin1', off + ID_START, off + ID_END);
      if (id === this.tornId) {
        this.tornId = undefined;
      } else if (this.recent.has(id)) {
        this.redelivered++;
        return true;
      } else {
        this.endRecovery();
      }
    }
    buf.copy(this.ring, (this.written++ % this.window) * ID_LEN, off + ID_START, off + ID_END);
    return false;
  }

  /**
   * The stream ended. `tail`: bytes of a record torn at the end, if any; returns true if the
   * filter takes over accounting for it (it may come again), false if the caller counts it.
   */
  streamEnded(tail: Buffer | undefined): boolean {
    this.endRecovery();
    const n = Math.min(this.written, this.window);
    this.recent = new Set();
    for (let i = 0; i < n; i++) this.recent.add(this.ring.toString('latin1', i * ID_LEN, (i + 1) * ID_LEN));
    this.written = 0;
    if (tail && tail.length >= ID_END && tail[OFF.version] === RECORD_VERSION) {
      this.tornId = tail.toString('latin1', ID_START, ID_END);
      return true;
    }
    return false;
  }

  private endRecovery(): void {
    if (this.tornId !== undefined) this.tornLost();
    this.tornId = undefined;
    this.recent = undefined;
  }
}
