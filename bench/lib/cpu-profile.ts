// Where the attributor's CPU goes, from a V8 `.cpuprofile` (`node --cpu-prof`): each sample's
// stack is charged to one enrich stage by the files and functions on it. Pure: no I/O.
// `stageBreakdown` takes another service's classifier too (lib/sink-profile.ts).
//
// A sample belongs to the stage of the attributor source file nearest its leaf (a JSON.stringify
// called from render.ts is render). Library frames below that file say what the file was doing:
// NATS client code under raw-consumer.ts is publishing (events and acks); NATS code with no
// attributor frame above it is the client receiving (socket reads, protocol parsing, pull
// requests, publish acks coming back). The garbage collector is its own stage: its samples carry
// no stack, and every stage's allocations feed it.

export interface CallFrame {
  functionName: string;
  url: string;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** µs, V8's monotonic clock (CLOCK_MONOTONIC on Linux, the clock of process.hrtime). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const STAGES = [
  'decode',
  'name_lookup',
  'label_lookup',
  'render',
  'publish',
  'receive',
  'telemetry',
  'redis',
  'gc',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

/** Attributor source file (basename) → stage. raw-consumer.ts and the rest decide by their callees. */
const FILE_STAGE: Record<string, Stage> = {
  'kernel-adapter.ts': 'decode',
  'decode.ts': 'decode',
  'host-names.ts': 'name_lookup',
  'dns-names.ts': 'name_lookup',
  'dns-name-store.ts': 'name_lookup',
  'label-cache.ts': 'label_lookup',
  'resolve-identities.ts': 'label_lookup',
  'resolver.ts': 'label_lookup',
  'identity-store.ts': 'label_lookup',
  'identity.ts': 'label_lookup',
  'render.ts': 'render',
  // Render's byte writes: the line parts and the record's own fields, straight from its kernel bytes.
  'byte-writer.ts': 'render',
  'fields-writer.ts': 'render',
};

type Lib = 'nats' | 'otel' | 'redis' | 'raw_batch' | undefined;

function libOf(f: CallFrame): Lib {
  const u = f.url;
  // The lean JetStream publisher (runtime) is NATS client work too: publishes under raw-consumer.ts, acks coming in without it.
  if (u.includes('/@nats-io/') || u.includes('/packages/runtime/src/batch-publisher') || u.includes('/packages/runtime/src/pub-ack')) return 'nats';
  if (u.includes('/@opentelemetry/') || u.includes('/packages/runtime/src/tracing.ts') || u.includes('/packages/runtime/src/metrics')) return 'otel';
  if (u.includes('/ioredis/') || u.includes('/redis-parser/')) return 'redis';
  if (u.includes('/packages/contracts/src/raw-batch')) return 'raw_batch';
  return undefined;
}

function attributorFile(url: string): string | undefined {
  const m = /\/services\/attributor\/src[^/]*\/([^/?#]+)/.exec(url); // src-*: a baseline copy beside it
  return m?.[1];
}

/** The stage of one stack, leaf first. */
export function classifyStack(stack: readonly CallFrame[]): Stage {
  const leaf = stack[0];
  if (leaf?.functionName === '(garbage collector)') return 'gc';
  let lib: Lib;
  for (const f of stack) {
    const file = attributorFile(f.url);
    if (file !== undefined) {
      const stage = FILE_STAGE[file];
      if (stage) return stage;
      if (lib === 'nats') return 'publish';
      if (lib === 'otel') return 'telemetry';
      if (lib === 'redis') return 'redis';
      if (lib === 'raw_batch') return 'decode'; // parseRawBatch: the batch's headers and size
      return 'other';
    }
    lib ??= libOf(f);
  }
  if (lib === 'nats') return 'receive';
  if (lib === 'otel') return 'telemetry';
  if (lib === 'redis') return 'redis';
  return 'other';
}

export interface StageBreakdown<S extends string = Stage> {
  /** Samples in the window that were not idle. */
  samples: number;
  /** Percent of those samples per stage (sums to 100). */
  pct: Record<S, number>;
  /** The heaviest self-time functions in the window (name, file, percent), for the notes. */
  top: Array<{ fn: string; file: string; pct: number }>;
}

/** How another service's stacks are charged to its own stages (the attributor's by default). */
export interface Classifier<S extends string> {
  stages: readonly S[];
  classify: (stack: readonly CallFrame[]) => S;
}

const ATTRIBUTOR: Classifier<Stage> = { stages: STAGES, classify: classifyStack };

/**
 * Stage shares of the non-idle samples taken within [fromUs, toUs] (V8 monotonic µs; the whole
 * profile when omitted). Throws when the window holds no busy sample: a breakdown of nothing.
 */
export function stageBreakdown<S extends string = Stage>(
  p: CpuProfile,
  window: { fromUs?: number; toUs?: number } = {},
  topN = 12,
  by: Classifier<S> = ATTRIBUTOR as unknown as Classifier<S>,
): StageBreakdown<S> {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageOf = new Map<number, S | 'idle'>();
  const classify = (id: number): S | 'idle' => {
    const known = stageOf.get(id);
    if (known) return known;
    const node = byId.get(id);
    if (!node) throw new Error(`profile sample names node ${id}, which the profile does not have`);
    let s: S | 'idle';
    if (node.callFrame.functionName === '(idle)') s = 'idle';
    else {
      const stack: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
      s = by.classify(stack);
    }
    stageOf.set(id, s);
    return s;
  };
  const counts = Object.fromEntries(by.stages.map((s) => [s, 0])) as Record<S, number>;
  const self = new Map<number, number>();
  let busy = 0;
  let t = p.startTime;
  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const id = p.samples[i]!;
    const s = classify(id);
    if (s === 'idle') continue;
    counts[s]++;
    busy++;
    self.set(id, (self.get(id) ?? 0) + 1);
  }
  if (busy === 0) throw new Error(`no busy sample in the profile window [${from}, ${to}] µs (profile ${p.startTime}–${p.endTime})`);
  const pct = Object.fromEntries(by.stages.map((s) => [s, (100 * counts[s]) / busy])) as Record<S, number>;
  // Self time by function (several nodes can be the same function under different callers).
  const byFn = new Map<string, { fn: string; file: string; n: number }>();
  for (const [id, n] of self) {
    const f = byId.get(id)!.callFrame;
    const file = f.url.slice(f.url.lastIndexOf('/') + 1) || '(native)';
    const key = `${f.functionName}@${f.url}`;
    const e = byFn.get(key) ?? { fn: f.functionName || '(anonymous)', file, n: 0 };
    e.n += n;
    byFn.set(key, e);
  }
  const top = [...byFn.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, topN)
    .map((e) => ({ fn: e.fn, file: e.file, pct: (100 * e.n) / busy }));
  return { samples: busy, pct, top };
}
