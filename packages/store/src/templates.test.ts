import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR, infraFiles } from '@sluice/testkit/unit';
import { fieldPaths, indexTemplate, mappings } from './templates.ts';

describe('index templates', () => {
  it('match the committed infra/opensearch JSON (regenerate: tsx packages/testkit/src/opensearch-infra.ts)', () => {
    for (const [rel, content] of infraFiles()) {
      expect(readFileSync(join(INFRA_DIR, rel), 'utf8'), rel).toBe(content);
    }
  });

  it('type attribution, verdicts and hosts as keyword, addresses as ip, bytes as long, times as date', () => {
    const props = (mappings('egress') as { properties: { attributes: { properties: Record<string, { type: string }> } } }).properties
      .attributes.properties;
    const types = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.type]));
    expect(types).toMatchObject({
      agent: 'keyword',
      project: 'keyword',
      verdict: 'keyword',
      dst_host: 'keyword',
      l4_proto: 'keyword',
      l7_proto: 'keyword',
      container_id: 'keyword',
      dst_ip: 'ip',
      src_ip: 'ip',
      bytes_in: 'long',
      bytes_out: 'long',
      time: 'date',
    });
  });

  it('make each template a data stream of its own name under the prefix', () => {
    const t = indexTemplate('x-', 'dns') as { index_patterns: string[]; data_stream: object };
    expect(t.index_patterns).toEqual(['x-dns*']);
    expect(t.data_stream).toEqual({});
  });

  it('list leaf fields including multi-fields', () => {
    const audit = fieldPaths('overseer');
    expect(audit.has('attributes.reason')).toBe(true);
    expect(audit.has('attributes.reason.keyword')).toBe(true);
    expect(audit.has('resource.attributes.service.name')).toBe(true);
    expect(audit.has('attributes')).toBe(false);
  });
});
