import { describe, expect, it } from 'vitest';
import { classifyStack, stageBreakdown, type CallFrame, type CpuProfile } from './cpu-profile.ts';

const SRC = 'file:///w/services/attributor/src';
const NATS = 'file:///w/node_modules/.pnpm/@nats-io+jetstream@3.2.0/node_modules/@nats-io/jetstream/lib/jsclient.js';
const OTEL = 'file:///w/node_modules/.pnpm/@opentelemetry+sdk-metrics@2/node_modules/@opentelemetry/sdk-metrics/build/src/x.js';
const f = (functionName: string, url = ''): CallFrame => ({ functionName, url });

describe('classifyStack', () => {
  it('charges a native callee to the attributor file nearest the leaf', () => {
    expect(classifyStack([f('stringify'), f('renderBatch', `${SRC}/render.ts`), f('handleRawTraced', `${SRC}/raw-consumer.ts`)])).toBe('render');
    expect(classifyStack([f('cstring', `${SRC}/kernel-adapter.ts`), f('decodeBatch', `${SRC}/decode.ts`)])).toBe('decode');
    expect(classifyStack([f('get'), f('lookup', `${SRC}/dns-names.ts`), f('nameBatch', `${SRC}/host-names.ts`)])).toBe('name_lookup');
    expect(classifyStack([f('pick', `${SRC}/label-cache.ts`), f('unattributed', `${SRC}/resolve-identities.ts`)])).toBe('label_lookup');
  });
  it('tells publishing from receiving by whether the attributor called the NATS client', () => {
    expect(classifyStack([f('publish', NATS), f('', `${SRC}/raw-consumer.ts`)])).toBe('publish');
    expect(classifyStack([f('parse', NATS), f('processMsg', NATS), f('onData', 'node:internal/net')])).toBe('receive');
  });
  it('names telemetry, the batch header parse, GC and the rest', () => {
    expect(classifyStack([f('add', OTEL), f('handleRawTraced', `${SRC}/raw-consumer.ts`)])).toBe('telemetry');
    expect(classifyStack([f('parseRawBatch', 'file:///w/packages/contracts/src/raw-batch.ts'), f('', `${SRC}/raw-consumer.ts`)])).toBe('decode');
    expect(classifyStack([f('(garbage collector)'), f('(root)')])).toBe('gc');
    expect(classifyStack([f('(program)'), f('(root)')])).toBe('other');
    expect(classifyStack([f('attributeBatch', `${SRC}/batch-pipeline.ts`)])).toBe('other');
  });
});

/** root → handle(raw-consumer) → render(render.ts) → stringify; root → (garbage collector); root → (idle). */
function profile(samples: number[], deltas: number[]): CpuProfile {
  return {
    startTime: 1000,
    endTime: 1000 + deltas.reduce((a, b) => a + b, 0),
    nodes: [
      { id: 1, callFrame: f('(root)'), children: [2, 5, 6] },
      { id: 2, callFrame: f('handleRawTraced', `${SRC}/raw-consumer.ts`), children: [3] },
      { id: 3, callFrame: f('renderBatch', `${SRC}/render.ts`), children: [4] },
      { id: 4, callFrame: f('stringify') },
      { id: 5, callFrame: f('(garbage collector)') },
      { id: 6, callFrame: f('(idle)') },
    ],
    samples,
    timeDeltas: deltas,
  };
}

describe('stageBreakdown', () => {
  it('shares the busy samples out by stage, idle left out', () => {
    const b = stageBreakdown(profile([4, 4, 3, 5, 6, 6, 2], [1, 1, 1, 1, 1, 1, 1]));
    expect(b.samples).toBe(5);
    expect(b.pct.render).toBeCloseTo(60);
    expect(b.pct.gc).toBeCloseTo(20);
    expect(b.pct.other).toBeCloseTo(20);
    expect(Object.values(b.pct).reduce((a, c) => a + c, 0)).toBeCloseTo(100);
    expect(b.top[0]).toEqual({ fn: 'stringify', file: '(native)', pct: 40 });
  });
  it('keeps only the samples inside the window (start-up left out)', () => {
    // Sample times: 1010, 1020, 1030, 1040.
    const b = stageBreakdown(profile([2, 2, 4, 5], [10, 10, 10, 10]), { fromUs: 1025, toUs: 1040 });
    expect(b.samples).toBe(2);
    expect(b.pct.render).toBeCloseTo(50);
    expect(b.pct.gc).toBeCloseTo(50);
  });
  it('refuses a window with no busy sample', () => {
    expect(() => stageBreakdown(profile([6, 6], [1, 1]))).toThrow(/no busy sample/);
    expect(() => stageBreakdown(profile([4], [1]), { fromUs: 5000 })).toThrow(/no busy sample/);
  });
  it('names a sample whose node is missing', () => {
    expect(() => stageBreakdown(profile([99], [1]))).toThrow(/node 99/);
  });
});
