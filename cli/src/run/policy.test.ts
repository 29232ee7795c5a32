import { describe, expect, it } from 'vitest';
import { parsePolicy } from '@sluice/contracts';
import { withRunPolicy } from './policy.ts';

const sel = { project: 'demo.app', agent: 'coder 1' };

describe('run policy', () => {
  it('creates a learn policy for the run on an empty store', () => {
    const yaml = withRunPolicy(undefined, sel, 'run-coder')!;
    const r = parsePolicy(yaml, { file: 't' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.document.policies).toHaveLength(1);
    expect(r.document.policies[0]).toMatchObject({ name: 'run-coder', match: sel, mode: 'learn', loopback: false });
    expect(r.document.default.mode).toBe('enforce');
  });

  it('keeps the operator document and comments, and avoids name clashes', () => {
    const current = `# operator policy
version: 1
policies:
  - name: run-coder   # already taken by something else
    match: { project: other }
    egress:
      allow:
        - { cidr: 10.0.0.0/8, ports: [443] }
`;
    const yaml = withRunPolicy(current, sel, 'run-coder')!;
    expect(yaml).toContain('# operator policy');
    expect(yaml).toContain('# already taken by something else');
    const r = parsePolicy(yaml, { file: 't' });
    expect(r.ok && r.document.policies.map((p) => p.name)).toEqual(['run-coder', 'run-coder-2']);
  });

  it('leaves a document that already selects the run alone', () => {
    const current = `version: 1
policies:
  - name: mine
    match: { project: demo.app, agent: coder 1 }
    mode: enforce
`;
    expect(withRunPolicy(current, sel, 'run-coder')).toBeUndefined();
  });
});
