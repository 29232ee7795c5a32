import { describe, expect, it } from 'vitest';
import { OtlpLogEvent, type WorkloadIdentity } from '@sluice/contracts';
import { attribute } from './attribution.ts';
import { decodeLogs, MalformedRequest } from './decode.ts';
import { ExportLogsServiceRequest } from './proto.ts';
import { buildEvents } from './records.ts';
import { DEFAULT_DROPPED_ATTRIBUTES, Redactor } from './redact.ts';

const keys = { agent: ['dev.clawker.agent', 'agent'], project: ['dev.clawker.project', 'project'] };
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

/** A Claude Code user_prompt event as OTLP/JSON (hex ids, int64 as strings), per the OTLP spec. */
const json = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
      scopeLogs: [
        {
          scope: { name: 'com.anthropic.claude_code.events', version: '2.0.1' },
          logRecords: [
            {
              timeUnixNano: '1764600000123000000',
              severityNumber: 9,
              severityText: 'INFO',
              body: { stringValue: 'claude_code.user_prompt' },
              traceId: TRACE,
              spanId: SPAN,
              attributes: [
                { key: 'event.name', value: { stringValue: 'user_prompt' } },
                { key: 'prompt', value: { stringValue: 'please rm -rf my secrets' } },
                { key: 'prompt_length', value: { intValue: '24' } },
                { key: 'agent', value: { stringValue: 'I am someone else' } },
                { key: 'big', value: { intValue: '9007199254740993' } },
                { key: 'nested', value: { kvlistValue: { values: [{ key: 'gen_ai.prompt', value: { stringValue: 'x' } }, { key: 'ok', value: { boolValue: true } }] } } },
              ],
            },
          ],
        },
      ],
    },
  ],
};

const container: WorkloadIdentity = {
  attribution: 'docker',
  node: 'n1',
  container_id: 'c0ffee',
  container_name: 'agent-1',
  agent: 'real agent',
  project: 'real project',
  ips: ['172.17.0.5'],
  started_ms: 0,
  can_bypass_raw: false,
};

function build(req: ReturnType<typeof decodeLogs>, sender: WorkloadIdentity | null) {
  return buildEvents(req, {
    requestId: 'r1',
    node: 'n1',
    sourceIp: '172.17.0.5',
    receivedMs: Date.parse('2026-12-01T00:00:00Z'),
    redactor: new Redactor(DEFAULT_DROPPED_ATTRIBUTES),
    contentEvents: new Set(['claude_code.user_prompt']),
    attribution: (r) => attribute(r, sender, keys),
  });
}

describe('OTLP logs → events', () => {
  it('protobuf and JSON of one request decode to the same events; prompt content dropped and counted', () => {
    const fromJson = decodeLogs(Buffer.from(JSON.stringify(json)), 'json');
    const bytes = ExportLogsServiceRequest.encode(fromJson).finish();
    const fromPb = decodeLogs(bytes, 'protobuf');
    const a = build(fromJson, container);
    const b = build(fromPb, container);
    expect(b.events).toEqual(a.events);
    const [e] = a.events;
    expect(OtlpLogEvent.parse(e)).toEqual(e);
    expect(e).toMatchObject({
      id: 'r1-0',
      time: '2025-12-01T14:40:00.123Z',
      service_name: 'claude-code',
      attribution: 'docker',
      agent: 'real agent',
      project: 'real project',
      container_id: 'c0ffee',
      trace_id: TRACE,
      span_id: SPAN,
      severity_number: 9,
      scope_name: 'com.anthropic.claude_code.events',
      event_name: 'user_prompt',
      body: 'claude_code.user_prompt',
    });
    expect(e!.attributes).toEqual({
      'event.name': 'user_prompt',
      prompt_length: 24,
      'sender.agent': 'I am someone else',
      big: '9007199254740993',
      nested: { ok: true },
    });
    expect(e!.redacted).toEqual(['prompt', 'nested.gen_ai.prompt']);
    expect(JSON.stringify(a.events)).not.toContain('secrets');
    expect(Object.fromEntries(a.redacted)).toEqual({ prompt: 1, 'gen_ai.prompt': 1 });
  });

  it('a content event whose body is the prompt loses the body', () => {
    const req = structuredClone(json);
    req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body = { stringValue: 'the prompt itself' };
    req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes[0]!.value.stringValue = 'claude_code.user_prompt';
    const [e] = build(decodeLogs(Buffer.from(JSON.stringify(req)), 'json'), null).events;
    expect(e!.body).toBeUndefined();
    expect(e!.redacted).toContain('body');
    expect(e!.attribution).toBe('unknown');
  });

  it('resource attributes name the workload when set; a different sending container is flagged, never replaced', () => {
    const res = { 'service.name': 'x', 'dev.clawker.agent': 'claimed', project: 'p' };
    expect(attribute(res, null, keys)).toEqual({ attribution: 'resource', agent: 'claimed', project: 'p' });
    expect(attribute(res, container, keys)).toMatchObject({ attribution: 'resource', agent: 'claimed', project: 'p', container_id: 'c0ffee', attribution_conflict: true });
    expect(attribute({ agent: 'real agent' }, container, keys)).toEqual({
      attribution: 'resource',
      agent: 'real agent',
      project: 'real project',
      container_id: 'c0ffee',
      container_name: 'agent-1',
    });
    // A number is not a label value: not turned into one.
    expect(attribute({ agent: 7 }, null, keys)).toEqual({ attribution: 'unknown' });
  });

  it('malformed input is a MalformedRequest naming where', () => {
    expect(() => decodeLogs(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'protobuf')).toThrow(MalformedRequest);
    expect(() => decodeLogs(Buffer.from('{"resourceLogs":'), 'json')).toThrow(/json:/);
    expect(() => decodeLogs(Buffer.from('{"resourceLogs":"no"}'), 'json')).toThrow(/resourceLogs: array expected/);
    expect(() => decodeLogs(Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}'), 'json')).toThrow(
      /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.traceId: must be 32 hex digits/,
    );
  });
});
