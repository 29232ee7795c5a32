import { describe, expect, it } from 'vitest';
import { docAt, encodeDocs } from './encoded-docs.ts';

describe('encodeDocs', () => {
  it('finds every document again, ASCII or not', () => {
    const docs = ['{"a":1}', '{"b":"é"}', '{"c":"😀 \\u0000"}', '{}', '{"d":"\ud800"}'];
    const e = encodeDocs(docs);
    expect(docs.map((_, i) => docAt(e, i))).toEqual(docs.map((d) => Buffer.from(d).toString()));
    expect(e.starts.at(-1)).toBe(e.utf8.length);
    expect(e.utf8.toString()).toBe(docs.map((d) => `${Buffer.from(d).toString()}\n`).join(''));
  });
  it('takes the ASCII shortcut only when it holds', () => {
    const docs = ['{"x":"abc"}', '{"y":"def"}'];
    const e = encodeDocs(docs);
    expect([docAt(e, 0), docAt(e, 1)]).toEqual(docs);
  });
  it('puts each document after its frame, and finds both again, ASCII or not', () => {
    const docs = ['{"a":"é"}', '{"b":1}', '{"c":"😀"}'];
    const frames = ['{"create":{"_id":"1"}}\n', '{"create":{"_id":"ü"}}\n', '{"create":{"_id":"3"}}\n'];
    const e = encodeDocs(docs, frames);
    expect(e.utf8.toString()).toBe(docs.map((d, i) => `${frames[i]}${d}\n`).join(''));
    for (let i = 0; i < docs.length; i++) {
      expect(docAt(e, i)).toBe(docs[i]);
      expect(e.utf8.toString('utf8', e.starts[i], e.docStarts[i])).toBe(frames[i]);
    }
  });
});
