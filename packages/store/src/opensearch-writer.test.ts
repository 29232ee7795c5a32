// The bulk body the sink sends, byte for byte: the NDJSON a `_bulk` create expects, whether a
// document comes as a string or already encoded (the sink's queue).
import { describe, expect, it } from 'vitest';
import { encodeDocs } from './encoded-docs.ts';
import { openSearchClient } from './opensearch-client.ts';
import { OpenSearchWriter } from './opensearch-writer.ts';

describe('OpenSearchWriter bulk body', () => {
  const writer = new OpenSearchWriter(openSearchClient({ url: 'http://127.0.0.1:1' }), 'p-');
  const docs = ['{"body":"a"}', '{"body":"é ☃ 😀"}', '{"body":"q\\"uote"}'];
  const expected =
    `{"create":{"_index":"p-egress","_id":"e:1"}}\n${docs[0]}\n` +
    `{"create":{"_index":"p-dns","_id":"ü\\"2"}}\n${docs[1]}\n` +
    `{"create":{"_index":"p-claude","_id":"e:3"}}\n${docs[2]}\n`;
  const ids = ['e:1', 'ü"2', 'e:3'];
  const sources = ['egress', 'dns', 'claude'];

  it("frames every id as its `around` parts say (the sink's byte path writes the line from them)", () => {
    for (const source of sources) {
      const [before, after] = writer.frame.around!(source);
      for (const id of [...ids, '', 'a\\b', '\u2028', 'x'.repeat(300)]) expect(writer.frame(source, id)).toBe(`${before}${JSON.stringify(id)}${after}`);
    }
  });

  it('from strings', () => {
    const items = docs.map((json, i) => ({ source: sources[i]!, id: ids[i]!, json }));
    expect(writer.ndjson(items).toString('utf8')).toBe(expected);
  });

  it('from documents encoded already, the same bytes', () => {
    const { utf8, starts, docStarts } = encodeDocs(docs);
    const items = docs.map((json, i) => ({ source: sources[i]!, id: ids[i]!, json, utf8, start: docStarts[i]!, end: starts[i + 1]! - 1 }));
    expect(writer.ndjson(items).equals(Buffer.from(expected))).toBe(true);
  });

  it('from documents encoded with their action lines, in runs or not, the same bytes', () => {
    const { utf8, starts, docStarts } = encodeDocs(
      docs,
      docs.map((_, i) => writer.frame(sources[i]!, ids[i]!)),
    );
    const items = docs.map((json, i) => ({ source: sources[i]!, id: ids[i]!, json, utf8, start: docStarts[i]!, end: starts[i + 1]! - 1, frameStart: starts[i]! }));
    expect(writer.ndjson(items).equals(Buffer.from(expected))).toBe(true);
    // Out of order (a retried item goes first), mixed with an unframed string item: each still whole.
    const plain = { source: 'egress', id: 'x', json: '{"p":1}' };
    const mixed = [items[2]!, items[0]!, plain, items[1]!];
    const lines = expected.split('\n');
    const want = `${lines[4]}\n${lines[5]}\n${lines[0]}\n${lines[1]}\n{"create":{"_index":"p-egress","_id":"x"}}\n{"p":1}\n${lines[2]}\n${lines[3]}\n`;
    expect(writer.ndjson(mixed).toString('utf8')).toBe(want);
  });
});
