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

  it('validate prints findings on stderr and exits 0, --strict exits 2, --json puts them on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-policy-lint-'));
    const broad = join(dir, 'broad.yaml');
    writeFileSync(
      broad,
      'version: 1\npolicies:\n  - name: a\n    match: { agent: x }\n    resolvers: [127.0.0.11]\n    egress:\n      allow:\n        - { host: "*.co.uk", ports: [443] }\n        - { host: api.github.com, ports: [443] }\n        - { host: API.GitHub.com., ports: [443] }\n',
    );
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const std = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await policy.run(['validate', broad])).toBe(0);
      const text = err.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toContain(`${broad}:8:19: high broad-wildcard: "*.co.uk": "co.uk" is a public suffix`);
      expect(text).toContain(`${broad}:10:19: medium duplicate-rule: same rule as egress.allow[1]`);
      expect(text).toContain('valid (1 policy), 2 finding(s): 1 high, 1 medium, 0 low');
      expect(await policy.run(['validate', '--strict', broad])).toBe(2);
      std.mockClear();
      expect(await policy.run(['validate', '--json', broad])).toBe(0);
      const json = JSON.parse(std.mock.calls.map((c) => String(c[0])).join('')) as Array<{ findings: Array<{ code: string; line: number }> }>;
      expect(json[0]!.findings.map((f) => `${f.code}@${f.line}`)).toEqual(['broad-wildcard@8', 'duplicate-rule@10']);
      // apply refuses a high finding before contacting anything (no NATS here: that would be exit 1).
      err.mockClear();
      expect(await policy.run(['apply', broad, '--nats', 'nats://127.0.0.1:1'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/refusing to apply past 1 high finding\(s\) \(broad-wildcard\)/);
      expect(await policy.run(['apply', broad, '--yes', '--nats', 'nats://127.0.0.1:1']).catch((e: UsageError) => e.exitCode)).toBe(1);
    } finally {
      err.mockRestore();
      std.mockRestore();
    }
  });
});
