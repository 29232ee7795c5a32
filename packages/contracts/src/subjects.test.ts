import { describe, expect, it } from 'vitest';
import { eventSubjectTokens, parseEventSubject, subjects } from './subjects.ts';

describe('subjects', () => {
  it('encode label values into single tokens and parse back', () => {
    const s = subjects.events('my.project', 'agent *1*', 'DENIED');
    expect(s.split('.')).toHaveLength(5);
    expect(parseEventSubject(s)).toEqual({ project: 'my.project', agent: 'agent *1*', verdict: 'DENIED' });
  });

  it('build filters with wildcards only where asked', () => {
    expect(subjects.eventsFilter({ project: 'p' })).toBe('sluice.events.p.*.*');
    expect(subjects.eventsFilter({ agent: 'a.b', verdict: 'ALLOWED' })).toBe('sluice.events.*.a%2Eb.ALLOWED');
  });

  it('refuse an invalid literal token', () => {
    expect(() => subjects.audit('policy.apply')).toThrow(/not a valid NATS subject token/);
    expect(subjects.audit('policy_apply')).toBe('sluice.audit.policy_apply');
  });

  it('the pre-rendered events prefix plus a verdict is the events subject', () => {
    expect(subjects.eventsPrefix('my proj', 'a.b') + 'DENIED').toBe(subjects.events('my proj', 'a.b', 'DENIED'));
    expect(subjects.eventsPrefix('', '')).toBe('sluice.events.%.%.');
  });
});

describe('denial subjects', () => {
  it('name node, project and agent as tokens; denialsFor matches the agent on every node', () => {
    const s = subjects.denials('node-1', 'my.project', 'agent *1*');
    expect(s).toBe('sluice.denials.node-1.my%2Eproject.agent%20%2A1%2A');
    expect(subjects.denialsFor('my.project', 'agent *1*')).toBe('sluice.denials.*.my%2Eproject.agent%20%2A1%2A');
    expect(subjects.denials('n', '', '')).toBe('sluice.denials.n.%.%');
  });
});

describe('event subjects of long labels', () => {
  it('stay five tokens; the tokens route, the values do not decode', () => {
    const s = subjects.events('p'.repeat(4096), 'agent', 'ALLOWED');
    expect(s.length).toBeLessThan(200);
    const t = eventSubjectTokens(s);
    expect(t.agent).toBe('agent');
    expect(t.project).toMatch(/~[0-9a-f]{32}$/);
    expect(() => parseEventSubject(s)).toThrow(/bounded token/);
  });
});
