// The few kernel-record facts the reader's hot path needs (bpf/record.h). Kept in one place so
// the switch to packages/contracts/src/kernel-record.ts (the layout-tested decoder) is one file.
export const RECORD_SIZE = 256;
export const RECORD_VERSION = 1;
export const KIND_MAX = 8;
export const KIND_COUNTERS = 8;
export const VERDICT_MAX = 3;
export const REASON_MAX = 8;
export const MODE_MAX = 1;

export const OFF = {
  version: 0,
  kind: 1,
  verdict: 2,
  reason: 3,
  family: 4,
  mode: 6,
  pad0: 7,
  tsNs: 16,
  cgroupId: 24,
  reserved0: 52,
  reserved1: 100,
  body: 120,
} as const;
