import { describe, expect, it } from 'vitest';
import { parseDebugSpans } from './otel-collector.ts';

// As the collector's debug exporter (v0.165, verbosity: detailed) printed two of Sluice's spans.
const SAMPLE = `2026-12-01T17:03:07.832Z	info	ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(try-svc)
     -> host.name: Str(n1)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope sluice 
Span #0
    Trace ID       : f0070e16d9d37e4f14f8ea7ac9353008
    Parent ID      : f56cfcbd0e57b736
    ID             : 792577493b45a516
    Name           : child op
    Kind           : Consumer
    Status code    : Unset
Span #1
    Trace ID       : f0070e16d9d37e4f14f8ea7ac9353008
    Parent ID      : 
    ID             : f56cfcbd0e57b736
    Name           : root op
    Kind           : Internal
`;

describe('collector debug output', () => {
  it('yields each span with its service, ids and name', () => {
    expect(parseDebugSpans(SAMPLE)).toEqual([
      { service: 'try-svc', traceId: 'f0070e16d9d37e4f14f8ea7ac9353008', parentId: 'f56cfcbd0e57b736', id: '792577493b45a516', name: 'child op', kind: 'Consumer' },
      { service: 'try-svc', traceId: 'f0070e16d9d37e4f14f8ea7ac9353008', parentId: '', id: 'f56cfcbd0e57b736', name: 'root op', kind: 'Internal' },
    ]);
  });
});
