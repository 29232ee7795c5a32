import { describe, expect, it } from 'vitest';
import { parseQueryArgs } from './args.ts';
import { termText } from './filter.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const parse = (argv: string[], mode: 'tail' | 'events' = 'tail') => parseQueryArgs(mode, argv, NOW);
const refused = (argv: string[], re: RegExp, mode: 'tail' | 'events' = 'tail') => {
  let err: unknown;
  try {
    parse(argv, mode);
  } catch (e) {
    err = e;
  }
  expect(err, argv.join(' ')).toMatchObject({ name: 'UsageError', exitCode: 2 });
  expect((err as Error).message).toMatch(re);
};

describe('tail/events arguments', () => {
  it('collects repeated filters and negates only the flag after --not', () => {
    const a = parse(['--agent', 'a', '--not', '--agent', 'b', '--agent', 'c', '--not', '--port', '53', '--verdict', 'denied']);
    expect(a.filter.include.map((t) => `${t.field}=${termText(t)}`)).toEqual(['agent=a', 'agent=c', 'verdict=DENIED']);
    expect(a.filter.exclude.map((t) => `${t.field}=${termText(t)}`)).toEqual(['agent=b', 'port=53']);
  });

  it('refuses --not before anything but a filter flag', () => {
    refused(['--not'], /--not at the end/);
    refused(['--not', '--since', '5m'], /--not --since: --not negates a filter flag/);
    refused(['--not', '--not', '--agent', 'a'], /--not --not/);
  });

  it('reads the window, the output and the limit', () => {
    const a = parse(['--since', '15m', '--until', '2026-11-23T11:59:00Z', '-o', 'compact', '--limit', '5']);
    expect(a.filter.since).toBe(NOW - 15 * 60_000);
    expect(a.filter.until).toBe(NOW - 60_000);
    expect(a.output).toEqual({ format: 'compact', wide: false });
    expect(a.limit).toBe(5);
    expect(parse(['--json']).output.format).toBe('json');
    expect(parse(['--wide']).output).toEqual({ format: 'table', wide: true });
  });

  it('refuses every bad value naming its flag', () => {
    refused(['--limit', 'abc'], /--limit "abc": expected a whole number/);
    refused(['--limit', '0'], /--limit "0"/);
    refused(['--limit', '-3'], /--limit/);
    refused(['--port', 'x'], /--port "x"/);
    refused(['--verdict', 'maybe'], /--verdict "maybe"/);
    refused(['--since', 'yesterday'], /--since "yesterday"/);
    refused(['--until', 'soon'], /--until "soon"/);
    refused(['--since', '5m', '--until', '1h'], /--since .* is after --until/);
    refused(['-o', 'yaml'], /-o "yaml": expected one of table, json, compact/);
    refused(['--json', '-o', 'table'], /--json conflicts with -o table/);
    refused(['--wide', '-o', 'json'], /--wide applies to -o table/);
    refused(['--agent'], /--agent/);
    refused(['--agent', '--verdict', 'DENIED'], /--agent/);
    refused(['--colour'], /Unknown option '--colour'/);
    refused(['stray'], /stray/);
    refused(['--from-file', '/x', '--from-opensearch'], /give one source/);
    refused(['--from-opensearch', 'ftp://x'], /--from-opensearch "ftp:\/\/x": expected an http\(s\) URL/);
    refused(['--from-opensearch', '--prefix', 'Bad!'], /--prefix "Bad!"/);
    refused(['--prefix', 'p-'], /--prefix applies to --from-opensearch/);
    refused(['--nats', 'nats://x'], /--nats: events reads stored events/, 'events');
    refused(['--no-follow', '--from-file'], /--no-follow applies to the live source/);
  });

  it('chooses the source: live for tail, the stored default for events, a bare --from-* meaning the default place', () => {
    expect(parse([]).source).toEqual({ kind: 'live', follow: true });
    expect(parse(['--nats', 'nats://h:1', '--no-follow']).source).toEqual({ kind: 'live', nats: 'nats://h:1', follow: false });
    expect(parse([], 'events').source).toEqual({ kind: 'stored' });
    expect(parse(['--from-file']).source).toEqual({ kind: 'file' });
    expect(parse(['--from-file', '--agent', 'a']).source).toEqual({ kind: 'file' });
    expect(parse(['--from-file', '/d']).source).toEqual({ kind: 'file', dir: '/d' });
    expect(parse(['--from-opensearch', '--prefix', 't-'], 'events').source).toEqual({ kind: 'opensearch', prefix: 't-' });
    expect(parse(['--from-opensearch', 'http://h:9200']).source).toEqual({ kind: 'opensearch', url: 'http://h:9200' });
  });
});
