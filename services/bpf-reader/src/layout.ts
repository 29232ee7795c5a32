// The kernel-record facts the reader's hot path needs, taken from the layout-tested decoder in
// packages/contracts (kernel-record.ts, checked against bpf/record.h by compiling C).
import { KERNEL_KIND, KERNEL_MODE, KERNEL_REASON, KERNEL_RECORD_FIELDS as F, KERNEL_RECORD_SIZE, KERNEL_RECORD_VERSION, KERNEL_VERDICT } from '@sluice/contracts';

export const RECORD_SIZE = KERNEL_RECORD_SIZE;
export const RECORD_VERSION = KERNEL_RECORD_VERSION;
export const KIND_COUNTERS = KERNEL_KIND.counters;
export const KIND_DNS = KERNEL_KIND.dns;
export const KIND_ESCAPE = KERNEL_KIND.escape;
export const KIND_MAX = Math.max(...Object.values(KERNEL_KIND));
export const VERDICT_MAX = Math.max(...Object.values(KERNEL_VERDICT));
export const REASON_MAX = Math.max(...Object.values(KERNEL_REASON));
export const MODE_MAX = Math.max(...Object.values(KERNEL_MODE));

export const OFF = {
  version: F.version[0],
  kind: F.kind[0],
  verdict: F.verdict[0],
  reason: F.reason[0],
  family: F.family[0],
  mode: F.mode[0],
  tsNs: F.ts_ns[0],
  cgroupId: F.cgroup_id[0],
  body: F.body[0],
  // Padding the kernel zeroes (emit.h memsets every record) and the decoder does not name:
  // record.h _pad0, _reserved0, _reserved1. Zero there is a strong sign of a real record.
  pad0: F.mode[0] + 1,
  reserved0: F.rule_id[0] + 4,
  reserved1: F.src_port[0] + 2,
} as const;
