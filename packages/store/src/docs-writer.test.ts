import { describe, expect, it } from 'vitest';
import { DocsWriter } from './docs-writer.ts';
import { docAt } from './encoded-docs.ts';

describe('DocsWriter', () => {
  it('grows past its size hint and finds every frame and document again', () => {
    const w = new DocsWriter(1); // grows many times over
    const src = Buffer.from('xx{"a":"é😀"}yy');
    const want: Array<[string, string]> = [];
    for (let i = 0; i < 200; i++) {
      const frame = i % 3 === 0 ? '' : `<frame ü ${i}>\n`;
      w.begin(frame, `{"h":${i},"at":`);
      w.bytes(src, 2, src.length - 2);
      w.end(true);
      want.push([frame, `{"h":${i},"at":{"a":"é😀"}}`]);
    }
    w.begin('', '{"plain":1}');
    w.end(false);
    want.push(['', '{"plain":1}']);
    const e = w.finish();
    expect(e.starts.at(-1)).toBe(e.utf8.length);
    expect(e.utf8.toString()).toBe(want.map(([f, d]) => `${f}${d}\n`).join(''));
    want.forEach(([f, d], i) => {
      expect(docAt(e, i)).toBe(d);
      expect(e.utf8.toString('utf8', e.starts[i], e.docStarts[i])).toBe(f);
    });
  });
});
