import { describe, expect, it } from 'vitest';
import { buildFilter } from './filter.ts';
import { MAX_SUBJECTS, eventSubjects, serverTakesManyFilters } from './nats-subject.ts';

describe('server-side subject filter', () => {
  it('pushes single project/agent/verdict values into the subject', () => {
    expect(eventSubjects(buildFilter({ include: { project: ['my.proj'], verdict: ['denied'] } }), false)).toEqual(['sluice.events.my%2Eproj.*.DENIED']);
  });

  it('widens a field with several values on an old server, and crosses them on a new one', () => {
    const f = buildFilter({ include: { agent: ['a', 'b'], verdict: ['DENIED'] } });
    expect(eventSubjects(f, false)).toEqual(['sluice.events.*.*.DENIED']);
    expect(eventSubjects(f, true)).toEqual(['sluice.events.*.a.DENIED', 'sluice.events.*.b.DENIED']);
  });

  it('never narrows on a negation or a field the subject does not carry', () => {
    expect(eventSubjects(buildFilter({ exclude: { agent: ['a'] }, include: { port: ['443'] } }), true)).toEqual(['sluice.events.*.*.*']);
  });

  it('widens the largest field when the cross product grows past the cap', () => {
    const many = Array.from({ length: 40 }, (_, i) => `a${i}`);
    const s = eventSubjects(buildFilter({ include: { agent: many, verdict: ['ALLOWED', 'DENIED'] } }), true);
    expect(s).toEqual(['sluice.events.*.*.ALLOWED', 'sluice.events.*.*.DENIED']);
    expect(s.length).toBeLessThanOrEqual(MAX_SUBJECTS);
  });

  it('knows which servers take several filter subjects', () => {
    expect(serverTakesManyFilters('2.9.10')).toBe(false);
    expect(serverTakesManyFilters('2.10.0')).toBe(true);
    expect(serverTakesManyFilters('3.0.1')).toBe(true);
    expect(serverTakesManyFilters('')).toBe(false);
  });
});
