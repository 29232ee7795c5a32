// The Dashboards saved objects in infra/opensearch/dashboards must parse and may only reference
// fields the sink's templates map: a renamed field would otherwise leave a blank saved search.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR } from '@sluice/testkit/unit';
import { fieldPaths, SOURCES, dataStreamName } from './templates.ts';

interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Array<{ name: string; type: string; id: string }>;
}

const file = join(INFRA_DIR, 'dashboards', 'saved-objects.ndjson');
const objects: SavedObject[] = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l, i) => {
    try {
      return JSON.parse(l) as SavedObject;
    } catch (err) {
      throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
const known = new Set(SOURCES.flatMap((s) => [...fieldPaths(s)]));

/** Field names a DQL query references (`field:value`, `field >= x`). */
function dqlFields(q: string): string[] {
  return [...q.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([A-Za-z_@][\w.@]*)\s*(?::|<=|>=|<|>)/g)].map((m) => m[1]!);
}

function referencedFields(o: SavedObject): string[] {
  const a = o.attributes as { columns?: string[]; sort?: Array<[string, string]>; kibanaSavedObjectMeta?: { searchSourceJSON?: string } };
  const source = JSON.parse(a.kibanaSavedObjectMeta?.searchSourceJSON ?? '{}') as {
    query?: { query?: string; language?: string };
    filter?: Array<{ meta?: { key?: string } }>;
  };
  return [
    ...(a.columns ?? []).filter((c) => c !== '_source'),
    ...(a.sort ?? []).map((s) => s[0]),
    ...dqlFields(source.query?.query ?? ''),
    ...(source.filter ?? []).flatMap((f) => (f.meta?.key ? [f.meta.key] : [])),
  ];
}

describe('Dashboards saved objects', () => {
  it('have an index pattern clawker-* over every data stream, on @timestamp', () => {
    const ip = objects.find((o) => o.type === 'index-pattern');
    expect(ip?.attributes).toMatchObject({ title: 'clawker-*', timeFieldName: '@timestamp' });
    const re = new RegExp('^' + String(ip!.attributes.title).replace(/\*/g, '.*') + '$');
    for (const s of SOURCES) expect(dataStreamName('clawker-', s)).toMatch(re);
  });

  it('have the four saved searches, each pointing at the index pattern', () => {
    const searches = objects.filter((o) => o.type === 'search');
    expect(searches.map((s) => s.id).sort()).toEqual(['sluice-audit-trail', 'sluice-bypassed', 'sluice-denied-by-agent', 'sluice-dns-by-agent']);
    const ids = new Set(objects.map((o) => o.id));
    for (const s of searches) {
      expect(s.references.length, s.id).toBeGreaterThan(0);
      for (const r of s.references) expect(ids.has(r.id), `${s.id} -> ${r.id}`).toBe(true);
      expect(JSON.parse((s.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON).indexRefName).toBe(s.references[0]!.name);
    }
  });

  it('reference only fields the templates map', () => {
    for (const o of objects.filter((x) => x.type === 'search')) {
      const fields = referencedFields(o);
      expect(fields.length, o.id).toBeGreaterThan(0);
      for (const f of fields) expect(known.has(f), `${o.id} references unmapped field ${f}`).toBe(true);
    }
  });

  it('extract fields from DQL, ignoring quoted text', () => {
    expect(dqlFields('attributes.verdict:DENIED and attributes.body:"a:b" or bytes_out >= 5')).toEqual(['attributes.verdict', 'attributes.body', 'bytes_out']);
  });
});
