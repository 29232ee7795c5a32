import { describe, expect, it } from 'vitest';
import { encodeDocs } from './encoded-docs.ts';

const docAt = (e: ReturnType<typeof encodeDocs>, i: number) => e.utf8.toString('utf8', e.offsets[i]!, e.offsets[i + 1]! - 1);

describe('encodeDocs', () => {
  it('finds every document again, ASCII or not', () => {
    const docs = ['{"a":1}', '{"b":"é"}', '{"c":"😀 \\u0000"}', '{}', '{"d":"\ud800"}'];
    const e = encodeDocs(docs);
    expect(docs.map((_, i) => docAt(e, i))).toEqual(docs.map((d) => Buffer.from(d).toString()));
    expect(e.offsets.at(-1)).toBe(e.utf8.length + 1);
  });
  it('takes the ASCII shortcut only when it holds', () => {
    const docs = ['{"x":"abc"}', '{"y":"def"}'];
    const e = encodeDocs(docs);
    expect([docAt(e, 0), docAt(e, 1)]).toEqual(docs);
  });
});
