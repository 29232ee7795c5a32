import { describe, expect, it } from 'vitest';
import { labelDlqMessage, LabelRejections } from './label-dlq.ts';
import type { LabelRejection } from './inspect.ts';

const rej = (value: string, label: 'agent' | 'project' = 'project'): LabelRejection => ({
  label,
  key: `dev.clawker.${label}`,
  value,
  reason: 'label_too_long',
  detail: 'x',
});

describe('label DLQ', () => {
  it('carries the exact value and reason; the id is stable per container and value', () => {
    const r = rej('p'.repeat(65536));
    const a = labelDlqMessage('n1', 'c1', r, 0);
    expect(a.subject).toBe('sluice.dlq.attributor');
    expect(a.payload).toMatchObject({ reason: 'label_too_long', label: 'project', label_key: 'dev.clawker.project', length: 65536, value: r.value });
    expect(labelDlqMessage('n1', 'c1', r, 99).msgId).toBe(a.msgId);
    expect(labelDlqMessage('n1', 'c1', rej('q'.repeat(65536)), 0).msgId).not.toBe(a.msgId);
    expect(labelDlqMessage('n1', 'c2', r, 0).msgId).not.toBe(a.msgId);
    // Lone surrogates survive JSON as escapes.
    const lone = labelDlqMessage('n1', 'c1', { ...rej('a\ud800'), reason: 'label_not_unicode' }, 0);
    expect((JSON.parse(JSON.stringify(lone.payload)) as { value: string }).value).toBe('a\ud800');
  });

  it('reports each rejection of a container once, until the container is forgotten', () => {
    const t = new LabelRejections();
    expect(t.fresh('c1', [rej('a'), rej('b', 'agent')])).toHaveLength(2);
    expect(t.fresh('c1', [rej('a'), rej('b', 'agent')])).toHaveLength(0);
    expect(t.fresh('c1', [rej('changed')])).toHaveLength(1);
    expect(t.fresh('c2', [rej('a')])).toHaveLength(1);
    t.forget('c1');
    expect(t.fresh('c1', [rej('a')])).toHaveLength(1);
  });
});
