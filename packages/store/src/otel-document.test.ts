import { describe, expect, it } from 'vitest';
import type { OtlpLogEvent } from '@sluice/contracts';
import { compileFastCheck, OtlpLogEvent as Schema } from '@sluice/contracts';
import { DEFAULT_OTEL_STREAMS, otelStreamOf, otelStreamProblem, otlpFastChecked, parseOtlpBatch, sanitiseServiceName } from './otel-document.ts';
import { otelIndexTemplate } from './templates.ts';

const ev = (o: Partial<OtlpLogEvent> = {}): OtlpLogEvent => ({
  id: 'req-0',
  time: '2026-12-01T10:00:00.000Z',
  observed_time: '2026-12-01T10:00:00.100Z',
  node: 'n1',
  service_name: 'claude-code',
  attribution: 'docker',
  agent: 'a ✓',
  project: 'p.1',
  container_id: 'c1',
  source_ip: '172.17.0.3',
  event_name: 'claude_code.api_request',
  severity_number: 9,
  body: 'claude_code.api_request',
  attributes: { model: 'claude-sonnet', cost_usd: 0.0123, input_tokens: 10, 'event.name': 'api_request' },
  resource: { 'service.name': 'claude-code', 'service.version': '2.0.1' },
  ...o,
});

describe('OTLP documents', () => {
  it('each record goes to its sender stream: claude for Claude Code, otel-<sanitised> or a mapping for others', () => {
    expect(otelStreamOf('claude-code', DEFAULT_OTEL_STREAMS)).toBe('claude');
    expect(otelStreamOf('My Svc/v2', DEFAULT_OTEL_STREAMS)).toBe('otel-my-svc-v2');
    expect(otelStreamOf('cp', { cp: 'otel-control-plane' })).toBe('otel-control-plane');
    expect(sanitiseServiceName('__..')).toBe('unknown');
    expect(sanitiseServiceName('x'.repeat(300))).toHaveLength(64);
    expect(otelStreamProblem('egress')).toMatch(/must be "claude" or "otel-<name>"/);
    const lines = [ev(), ev({ id: 'req-1', service_name: 'telemetrygen', resource: { 'service.name': 'telemetrygen' } })].map((e) => JSON.stringify(e)).join('\n');
    const b = parseOtlpBatch(lines + '\n{nope\n{"id":1}', 'now', DEFAULT_OTEL_STREAMS);
    expect(b.docs.map((d) => d.stream)).toEqual(['claude', 'otel-telemetrygen']);
    expect(b.rejects.map((r) => r.kind)).toEqual(['not_json', 'schema']);
    const doc = JSON.parse(b.docs[0]!.json);
    expect(doc).toEqual({
      '@timestamp': '2026-12-01T10:00:00.000Z',
      observedTimestamp: '2026-12-01T10:00:00.100Z',
      body: 'claude_code.api_request',
      severity: { text: 'INFO', number: 9 },
      attributes: {
        model: 'claude-sonnet',
        cost_usd: 0.0123,
        input_tokens: 10,
        'event.name': 'api_request',
        id: 'req-0',
        node: 'n1',
        service_name: 'claude-code',
        attribution: 'docker',
        agent: 'a ✓',
        project: 'p.1',
        container_id: 'c1',
        source_ip: '172.17.0.3',
        event_name: 'claude_code.api_request',
      },
      resource: { attributes: { 'service.name': 'claude-code', 'service.version': '2.0.1' } },
    });
  });

  it('templates: claude has typed Claude Code fields under nested objects; otel-* shares the skeleton', () => {
    const claude = otelIndexTemplate('clawker-', 'claude') as { index_patterns: string[]; template: { mappings: { properties: { attributes: { properties: Record<string, any> } } } } };
    expect(claude.index_patterns).toEqual(['clawker-claude']);
    const a = claude.template.mappings.properties.attributes.properties;
    expect(a.cost_usd).toEqual({ type: 'double' });
    expect(a.event.properties.name.type).toBe('keyword');
    expect(a.agent.type).toBe('keyword');
    const otel = otelIndexTemplate('clawker-', 'otel') as { index_patterns: string[] };
    expect(otel.index_patterns).toEqual(['clawker-otel-*']);
  });

  it('the fast check says yes only where zod returns the record unchanged', () => {
    expect(otlpFastChecked()).toBe(true);
    const fast = compileFastCheck(Schema)!;
    const good = JSON.parse(JSON.stringify(ev()));
    expect(fast(good)).toBe(true);
    expect(Schema.parse(good)).toEqual(good);
    const cases: unknown[] = [
      { ...good, attributes: [] },
      { ...good, attributes: null },
      { ...good, resource: 'x' },
      JSON.parse(JSON.stringify(ev()).replace('"model"', '"__proto__"')),
      { ...good, severity_number: 25 },
      { ...good, trace_id: 'XYZ' },
      { ...good, extra: 1 },
    ];
    for (const c of cases) expect(fast(c)).toBe(false);
  });
});
