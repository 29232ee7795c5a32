// The bad-policy corpus (../corpus): one file per mistake, each expected error and finding pinned
// in the file's own header as `# expect: finding CODE LINE:COL` or
// `# expect: error YAML.PATH LINE:COL ~ reason fragment`. Every file is validated and linted and
// the outcome must equal its expectations exactly: nothing missing, nothing extra.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkPolicy } from './lint.ts';

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));

interface Expectation {
  kind: 'finding' | 'error';
  /** finding code or error YAML path */
  what: string;
  at: string;
  reason?: string;
}

function header(text: string): { expect: Expectation[]; maxBytes?: number } {
  const expect: Expectation[] = [];
  let maxBytes: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const e = /^# expect: (finding|error) (\S+) (\d+:\d+)(?: ~ (.+))?$/.exec(line);
    if (e) expect.push({ kind: e[1] as Expectation['kind'], what: e[2]!, at: e[3]!, ...(e[4] ? { reason: e[4] } : {}) });
    else if (line.startsWith('# expect')) throw new Error(`malformed expectation: ${line}`);
    const o = /^# options: max-bytes (\d+)$/.exec(line);
    if (o) maxBytes = Number(o[1]);
  }
  return { expect, ...(maxBytes !== undefined ? { maxBytes } : {}) };
}

const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();

describe('bad-policy corpus', () => {
  it('has a file per mistake', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  for (const file of files) {
    it(file, () => {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const h = header(text);
      const r = checkPolicy(text, { file, ...(h.maxBytes !== undefined ? { maxBytes: h.maxBytes } : {}) });
      const actual = r.ok
        ? r.findings.map((f) => ({ key: `finding ${f.code} ${f.line}:${f.column}`, reason: f.message }))
        : r.errors.map((e) => ({ key: `error ${e.path} ${e.line}:${e.column}`, reason: e.reason }));
      expect(actual.map((a) => a.key).sort()).toEqual(h.expect.map((e) => `${e.kind} ${e.what} ${e.at}`).sort());
      for (const e of h.expect) {
        if (!e.reason) continue;
        const hit = actual.find((a) => a.key === `${e.kind} ${e.what} ${e.at}`);
        expect(hit?.reason, `${e.kind} ${e.what} ${e.at}`).toContain(e.reason);
      }
    });
  }
});
