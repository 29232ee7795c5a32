// What `sluice-bpf dump <map>` and `sluice-bpf apply` print, one JSON object a line (bpf/src/dump.c,
// apply.c), as zod schemas: a line of another shape is a helper/service mismatch, reported with
// the map, the line and what is wrong, never cast and carried into the planner. Objects are not
// strict, so a helper that prints an extra field still works with an older service.
import { z } from 'zod';

const u32 = z.number().int().min(0).max(0xffff_ffff);
const u16 = z.number().int().min(0).max(0xffff);
const u64 = z.string().regex(/^\d{1,20}$/, 'must be an unsigned 64-bit integer in decimal');
/** `invalid` is what the helper prints for a value outside the enum: kept, so the planner rewrites it. */
const mode = z.enum(['learn', 'enforce', 'invalid']);
const range = z.object({ lo: u16, hi: u16, proto: z.enum(['tcp', 'udp', 'any', 'other']), rule_id: u32 });

export const DumpLine = {
  config: z.object({ default_policy_id: u32, default_mode: mode, active_timeout_ns: u64.optional(), udp_idle_ns: u64.optional() }),
  policies: z.object({ policy_id: u32, loopback: z.boolean() }),
  rules: z.object({ policy_id: u32, cidr: z.string().min(1), ranges: z.array(range) }),
  host_rules: z.object({ policy_id: u32, match: z.enum(['exact', 'one', 'any', 'invalid']), name_hash: u64, ranges: z.array(range) }),
  resolvers: z.object({ policy_id: u32, addr: z.string().min(1), rule_id: u32 }),
  cgroup_policy: z.object({ cgroup_id: u64, policy_id: u32, mode }),
  bypass: z.object({ cgroup_id: u64, expires_boot_ns: u64 }),
} as const;
export type DumpMap = keyof typeof DumpLine;

export const OpResultLine = z.object({ line: z.number().int(), op: z.string(), ok: z.boolean(), error: z.string().optional() });
export const BatchEndLine = z.object({ batch: z.number().int(), ok: z.boolean() });

/** One line of helper output against its schema; the error names what, where and why. */
export function parseHelperLine<S extends z.ZodType>(schema: S, line: string, where: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`${where}: unreadable helper output line ${JSON.stringify(line.slice(0, 200))}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ');
    throw new Error(`${where}: helper output line ${JSON.stringify(line.slice(0, 200))} has an unexpected shape (${issues})`);
  }
  return r.data;
}

/** Keeps the last `max` characters: a helper that floods stderr cannot grow the service's memory. */
export function appendTail(buf: string, chunk: string, max: number): string {
  const next = buf + chunk;
  return next.length <= max ? next : `…${next.slice(next.length - max + 1)}`;
}

export const STDERR_MAX_CHARS = 16 * 1024;
