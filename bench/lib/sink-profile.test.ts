import { describe, expect, it } from 'vitest';
import type { CallFrame } from './cpu-profile.ts';
import { classifySinkStack } from './sink-profile.ts';

const f = (functionName: string, url = ''): CallFrame => ({ functionName, url });
const SINK = 'file:///w/services/sink/src';
const STORE = 'file:///w/packages/store/src';
const CONTRACTS = 'file:///w/packages/contracts/src';
const NATS = 'file:///w/node_modules/.pnpm/@nats-io+nats-core@3/node_modules/@nats-io/nats-core/lib/protocol.js';
const OS = 'file:///w/node_modules/.pnpm/@opensearch-project+opensearch@3/node_modules/@opensearch-project/opensearch/lib/Transport.js';

describe('classifySinkStack', () => {
  it('charges a builtin to the sink file nearest the leaf', () => {
    expect(classifySinkStack([f('parse'), f('parseBatch', `${STORE}/parse.ts`), f('', `${SINK}/consume.ts`)])).toBe('parse');
    expect(classifySinkStack([f('test'), f('', `${CONTRACTS}/schema-fast-check.ts`), f('parseBatch', `${STORE}/parse.ts`)])).toBe('parse');
    expect(classifySinkStack([f('from'), f('encodeDocs', `${STORE}/encoded-docs.ts`), f('add', `${SINK}/pipeline.ts`)])).toBe('encode');
    expect(classifySinkStack([f('utf8Write'), f('text', `${STORE}/docs-writer.ts`), f('parseBatch', `${STORE}/parse.ts`)])).toBe('encode');
    expect(classifySinkStack([f('write'), f('ndjson', `${STORE}/opensearch-writer.ts`)])).toBe('bulk_body');
    expect(classifySinkStack([f('splice'), f('pump', `${SINK}/pipeline.ts`)])).toBe('pipeline');
  });
  it('charges a library called from the sink to that library', () => {
    expect(classifySinkStack([f('request', OS), f('write', `${STORE}/opensearch-writer.ts`)])).toBe('http');
    expect(classifySinkStack([f('fetch', NATS), f('', `${SINK}/consume.ts`)])).toBe('nats');
    expect(classifySinkStack([f('classifyBulk', `${STORE}/bulk-result.ts`)])).toBe('http');
  });
  it('charges a library with no sink frame above it to that library, and the rest to other', () => {
    expect(classifySinkStack([f('writev', 'node:net'), f('flush', NATS)])).toBe('nats');
    expect(classifySinkStack([f('parse'), f('onBody', OS)])).toBe('http');
    expect(classifySinkStack([f('(garbage collector)'), f('(root)')])).toBe('gc');
    expect(classifySinkStack([f('(program)'), f('(root)')])).toBe('other');
    expect(classifySinkStack([f('main', `${SINK}/main.ts`)])).toBe('other');
  });
});
