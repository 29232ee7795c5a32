// Builds kernel records for tests and benchmarks, byte-compatible with bpf/record.h.
import { OFF, RECORD_SIZE, RECORD_VERSION } from '../layout.ts';

export interface RecordSpec {
  kind?: number;
  verdict?: number;
  cgroupId?: bigint;
  tsNs?: bigint;
  pid?: number;
  /** Fills comm and body with pseudo-random bytes derived from this value (distinct records). */
  mark?: number;
}

export function makeRecord(spec: RecordSpec = {}): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b[OFF.version] = RECORD_VERSION;
  b[OFF.kind] = spec.kind ?? 1;
  b[OFF.verdict] = spec.verdict ?? 2;
  b[OFF.reason] = 2;
  b[OFF.family] = 2;
  b[5] = 6; // l4_proto TCP
  b.writeBigUInt64LE(spec.tsNs ?? 1_000_000n, OFF.tsNs);
  b.writeBigUInt64LE(spec.cgroupId ?? 42n, OFF.cgroupId);
  b.writeUInt32LE(spec.pid ?? 1234, 40);
  let x = (spec.mark ?? 0) * 2654435761 + 1;
  // Deterministic noise in addresses, comm and body: real records are not mostly zeros.
  for (let i = 64; i < RECORD_SIZE; i++) {
    if (i >= OFF.reserved1 && i < OFF.reserved1 + 4) continue;
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b.writeUInt32LE(spec.mark ?? 0, OFF.body);
  return b;
}

export function markOf(rec: Buffer | Uint8Array, off = 0): number {
  return Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength).readUInt32LE(off + OFF.body);
}
