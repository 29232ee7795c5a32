import { describe, expect, it } from 'vitest';
import { formatAttempts } from '../cli/src/run/attempts.ts';
import { COVERAGE, recorded } from './peers-run.ts';

const row = (key: string, tool: 'sluice' | 'srt') => COVERAGE.find((c) => c.key === key)![tool];

describe('peers-run coverage', () => {
  const table = formatAttempts([
    { destination: '198.18.0.2', port: 18082, proto: 'tcp', verdict: 'DENIED', count: 1 },
    { destination: '198.18.0.2', port: 18081, proto: 'tcp', verdict: 'ALLOWED', count: 1 },
  ]);

  it("reads Sluice's exit table rows by destination, port, protocol and verdict", () => {
    expect(recorded(table, row('denied_tcp', 'sluice'))).toBe(true);
    expect(recorded(table, row('allowed_tcp', 'sluice'))).toBe(true);
    expect(recorded(table, row('udp', 'sluice'))).toBe(false);
  });

  it('does not take the echo of the command line for a record', () => {
    const echo = 'sluice: running /bpf/build/probe sendto 198.18.0.2 18083 raw 4 as p/a (cgroup 7, enforce)';
    for (const c of COVERAGE) expect(recorded(echo, c.sluice), c.key).toBe(false);
    const srtEcho = '[SandboxDebug] Original command: probe connect 198.18.0.2:18082';
    expect(recorded(srtEcho, row('denied_tcp', 'srt'))).toBe(false);
    // srt -d prints its settings: the allowlist entry itself is no record of a connect.
    expect(recorded('    "198.18.0.2:18081"', row('allowed_tcp', 'srt'))).toBe(false);
  });

  it("reads srt's proxy decisions", () => {
    expect(recorded('[SandboxDebug] Connection blocked to 198.18.0.2:18082', row('proxied_denied_tcp', 'srt'))).toBe(true);
    expect(recorded('[SandboxDebug] Allowed by config rule: 198.18.0.2:18081', row('allowed_tcp', 'srt'))).toBe(true);
    expect(recorded('[SandboxDebug] Connection blocked to 198.18.0.2:180820', row('proxied_denied_tcp', 'srt'))).toBe(false);
  });
});
