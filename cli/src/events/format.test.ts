import { describe, expect, it } from 'vitest';
import { egressEvent } from '@sluice/testkit/unit';
import { COLUMNS, compactLine, formatter, printable, truncate } from './format.ts';

describe('event output', () => {
  it('cuts long cells to the column width with an ellipsis, keeping every column in place', () => {
    const long = 'p'.repeat(300);
    const e = egressEvent(1, { project: long, agent: 'agent.α', dst_host: `${'x'.repeat(80)}.example.com` });
    const t = formatter({ format: 'table', wide: false });
    const header = t.header!;
    const row = t.line(e);
    // Each column starts where its title does.
    let at = 0;
    for (const c of COLUMNS.slice(0, -1)) {
      expect([...row].slice(at).join('').startsWith(' ')).toBe(false);
      expect(header.slice(at).startsWith(c.title)).toBe(true);
      at += c.width + 2;
    }
    expect(row).toContain(`${'p'.repeat(15)}…`);
    expect(row).not.toContain('p'.repeat(16));
    expect([...row].length).toBeLessThanOrEqual(COLUMNS.reduce((n, c) => n + c.width + 2, 0));
  });

  it('keeps every character with --wide', () => {
    const long = 'p'.repeat(300);
    const row = formatter({ format: 'table', wide: true }).line(egressEvent(1, { project: long, node: 'node-9' }));
    expect(row).toContain(long);
    expect(row).toContain('node=node-9');
    expect(row).toContain('2026-01-01T12:00:00.001Z');
  });

  it('escapes control and bidi characters an agent put in a label', () => {
    expect(printable('a\nb\u202ec\u0007')).toBe('a\\nb\\u202ec\\u0007');
    const row = formatter({ format: 'table', wide: false }).line(egressEvent(1, { agent: 'evil\n\u001b[2J' }));
    expect(row).not.toMatch(/[\n\u001b]/);
    expect(compactLine(egressEvent(1, { project: 'x\ry' }))).not.toContain('\r');
  });

  it('truncates by code point, never splitting a surrogate pair', () => {
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(truncate('abc', 3)).toBe('abc');
  });

  it('prints json lines and compact lines with rule and container', () => {
    const e = egressEvent(3, { rule_id: 4097, container_name: '/web' });
    expect(JSON.parse(formatter({ format: 'json', wide: false }).line(e))).toEqual(e);
    expect(formatter({ format: 'json', wide: false }).header).toBeUndefined();
    const c = compactLine(e);
    expect(c).toMatch(/^2026-01-01T12:00:00.003Z \[node-t\] ALLOWED connect tcp proj\/agent-3 curl\[103\] -> host-3.example.com:443/);
    expect(c).toMatch(/reason=rule .*rule=4097 container=web$/);
  });
});
