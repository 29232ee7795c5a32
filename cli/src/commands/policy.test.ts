import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../command.ts';
import { parseDuration, policy } from './policy.ts';

describe('sluice policy', () => {
  it('parses bypass durations', () => {
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2d')).toBe(172800);
    expect(() => parseDuration('15 minutes')).toThrow(UsageError);
    expect(() => parseDuration('0m')).toThrow(/positive/);
  });

  it('validate exits 2 and names file, path, line:column and reason on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-policy-'));
    const bad = join(dir, 'bad.yaml');
    const good = join(dir, 'good.yaml');
    writeFileSync(bad, 'version: 1\npolicies:\n  - { name: a, match: { agent: x }, egress: { allow: [ { cidr: 10.0.0.0/8, ports: [70000] } ] } }\n');
    writeFileSync(good, 'version: 1\npolicies:\n  - { name: a, match: { agent: x } }\n');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await policy.run(['validate', good])).toBe(0);
      expect(await policy.run(['validate', good, bad])).toBe(2);
      const text = err.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toContain(`${bad}:3:84: policies[0].egress.allow[0].ports[0]: port 70000 is out of range 1-65535`);
      // apply validates locally before contacting anything (no NATS here: it would fail with 1).
      const huge = join(dir, 'huge.yaml');
      writeFileSync(huge, `version: 1\n# ${'x'.repeat(10 * 1024 * 1024)}\n`);
      expect(await policy.run(['apply', huge, '--nats', 'nats://127.0.0.1:1'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/huge\.yaml:1:1: \(document\): document is \d+ bytes, over the 1048576-byte limit/);
    } finally {
      err.mockRestore();
    }
  });
});
