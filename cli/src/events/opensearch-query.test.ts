import { describe, expect, it } from 'vitest';
import { buildFilter } from './filter.ts';
import { opensearchQuery } from './opensearch-query.ts';

describe('filter as an OpenSearch query', () => {
  it('turns wanted values into filter clauses, OR within a field', () => {
    const q = opensearchQuery(buildFilter({ include: { agent: ['a', 'b'], port: ['443'], rule: ['7'] } }));
    expect(q.bool.filter).toEqual([
      { bool: { should: [{ term: { 'attributes.agent': 'a' } }, { term: { 'attributes.agent': 'b' } }], minimum_should_match: 1 } },
      { range: { 'attributes.dst_port': { gte: 443, lte: 443 } } },
      { term: { 'attributes.rule_id': 7 } },
    ]);
    expect(q.bool.must_not).toEqual([]);
  });

  it('bounds @timestamp in epoch millis', () => {
    const q = opensearchQuery({ include: [], exclude: [], since: 1000, until: 2000 });
    expect(q.bool.filter).toEqual([{ range: { '@timestamp': { gte: 1000, lte: 2000, format: 'epoch_millis' } } }]);
  });

  it('negates only where the translation is exact', () => {
    const q = opensearchQuery(buildFilter({ exclude: { verdict: ['allowed'], host: ['*.github.com'], port: ['53'] } }));
    expect(q.bool.must_not).toEqual([{ term: { 'attributes.verdict': 'ALLOWED' } }, { range: { 'attributes.dst_port': { gte: 53, lte: 53 } } }]);
  });

  it('widens host globs and leaves IP-shaped wildcards to the client', () => {
    const q = opensearchQuery(buildFilter({ include: { host: ['*.GitHub.com', '10.0.0.1'] } }));
    expect(JSON.stringify(q.bool.filter)).toContain('"value":"*.github.com","case_insensitive":true');
    expect(JSON.stringify(q.bool.filter)).toContain('{"term":{"attributes.dst_ip":"10.0.0.1"}}');
    expect(opensearchQuery(buildFilter({ include: { host: ['10.0.*', 'a.com'] } })).bool.filter).toEqual([]);
  });

  it('leaves a label longer than the keyword index keeps to the client', () => {
    expect(opensearchQuery(buildFilter({ include: { project: ['p'.repeat(2000)] } })).bool.filter).toEqual([]);
  });

  it('matches a container by id prefix or name', () => {
    const q = opensearchQuery(buildFilter({ include: { container: ['abc123'] } }));
    expect(JSON.stringify(q)).toContain('"prefix":{"attributes.container_id":{"value":"abc123","case_insensitive":true}}');
    expect(JSON.stringify(q)).toContain('"terms":{"attributes.container_name":["abc123","/abc123"]}');
  });
});
