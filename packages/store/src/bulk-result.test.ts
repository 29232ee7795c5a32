import { describe, expect, it } from 'vitest';
import { classifyBulk, classifyItem } from './bulk-result.ts';

describe('bulk item outcomes', () => {
  it('accepts created and counts a 409 on create as a duplicate', () => {
    expect(classifyItem({ status: 201 })).toEqual({ kind: 'created' });
    expect(classifyItem({ status: 409, error: { type: 'version_conflict_engine_exception' } })).toEqual({ kind: 'duplicate' });
  });
  it('retries what the cluster may accept later', () => {
    expect(classifyItem({ status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } }).kind).toBe('retry');
    expect(classifyItem({ status: 503 }).kind).toBe('retry');
    expect(classifyItem({ status: 400, error: { type: 'cluster_block_exception', reason: 'read-only' } }).kind).toBe('retry');
  });
  it('rejects what would fail again, with the reason and its cause', () => {
    expect(
      classifyItem({
        status: 400,
        error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [x]', caused_by: { type: 'illegal_argument_exception', reason: 'bad' } },
      }),
    ).toEqual({ kind: 'reject', reason: 'mapper_parsing_exception: failed to parse field [x] (caused by illegal_argument_exception: bad)' });
  });
  it('pairs responses with requests and refuses a count mismatch', () => {
    const body = { items: [{ create: { status: 201 } }, { create: { status: 409 } }] };
    expect(classifyBulk(body, 2).map((o) => o.kind)).toEqual(['created', 'duplicate']);
    expect(() => classifyBulk(body, 3)).toThrow(/2 items, expected 3/);
    expect(() => classifyBulk({}, 1)).toThrow(/no items/);
  });
});
