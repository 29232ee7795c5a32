import { describe, expect, it } from 'vitest';
import { metricByLabel, metricValue, parsePrometheusText } from './prometheus-text.ts';

const TEXT = `# HELP sluice_events_dropped_total Events dropped
# TYPE sluice_events_dropped_total counter
sluice_events_dropped_total{stage="sink",reason="schema"} 3
sluice_events_dropped_total{stage="sink",reason="not_json"} 2 1700000000000
sluice_events_dropped_total{stage="learner",reason="schema"} 4
sluice_events_dropped_total_extra{stage="sink"} 100
sluice_reader_queue_records 7
odd_label{path="a\\"b\\\\c\\nd"} +Inf
`;

describe('prometheus text', () => {
  it('parses samples with labels, escapes, timestamps and infinities', () => {
    const s = parsePrometheusText(TEXT);
    expect(s).toHaveLength(6);
    expect(s[1]).toEqual({ name: 'sluice_events_dropped_total', labels: { stage: 'sink', reason: 'not_json' }, value: 2 });
    expect(s[4]).toEqual({ name: 'sluice_reader_queue_records', labels: {}, value: 7 });
    expect(s[5]).toEqual({ name: 'odd_label', labels: { path: 'a"b\\c\nd' }, value: Infinity });
  });

  it('sums the samples of one metric whose labels include the match, never a longer name', () => {
    expect(metricValue(TEXT, 'sluice_events_dropped_total')).toBe(9);
    expect(metricValue(TEXT, 'sluice_events_dropped_total', { stage: 'sink' })).toBe(5);
    expect(metricValue(TEXT, 'sluice_events_dropped_total', { stage: 'sink', reason: 'schema' })).toBe(3);
    expect(metricValue(TEXT, 'sluice_events_dropped_total', { stage: 'nope' })).toBe(0);
    expect(metricValue(TEXT, 'missing_metric')).toBe(0);
  });

  it('groups one metric by a label', () => {
    expect(metricByLabel(TEXT, 'sluice_events_dropped_total', 'reason')).toEqual({ schema: 7, not_json: 2 });
  });
});
