import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// RUN_DIR is read at import time: point it at a scratch directory first.
const dir = mkdtempSync(join(tmpdir(), 'sluice-compose-'));
process.env.SLUICE_RUN_DIR = dir;
const { composeSecrets } = await import('./compose.ts');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('composeSecrets', () => {
  it('makes every secret once, letter first (nats-server reads a digit-first $VAR as a number), private', () => {
    const first = composeSecrets();
    expect(Object.keys(first).sort()).toEqual(
      ['ATTRIBUTOR', 'LEARNER', 'OPERATOR', 'OTLP', 'POLICY', 'READER', 'REDIS', 'SINK', 'VIEWER'].map((n) => `SLUICE_${n}_PASSWORD`),
    );
    for (const v of Object.values(first)) expect(v).toMatch(/^[A-Za-z][A-Za-z0-9]{16,}$/);
    expect(new Set(Object.values(first)).size).toBe(9);
    expect(statSync(join(dir, 'compose.env')).mode & 0o777).toBe(0o600);
    // `down` must see the same secrets `up` used.
    expect(composeSecrets()).toEqual(first);
    expect(readFileSync(join(dir, 'compose.env'), 'utf8')).toContain(`SLUICE_SINK_PASSWORD=${first.SLUICE_SINK_PASSWORD}\n`);
  });
});
