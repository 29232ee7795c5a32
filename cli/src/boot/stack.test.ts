import { SourceMap } from 'node:module';
import { describe, expect, it } from 'vitest';
import { mapStack } from './stack.ts';

describe('mapStack', () => {
  // Line 1 col 0 of the compiled file → run.ts line 41 col 4; line 2 col 0 → main.ts line 1 col 0.
  const map = new SourceMap({ version: 3, file: 'cli.cjs', sources: ['../src/commands/run.ts', '../src/main.ts'], names: [], mappings: 'AAwCI;ACxCJ', sourceRoot: '' } as never);

  it('rewrites frames in the compiled file and leaves the others', () => {
    const stack = ['Error: boom', '    at f (/x/cli/dist/cli.cjs:1:1)', '    at g (/x/cli/dist/cli.cjs:2:1)', '    at node:internal/x:1:1'].join('\n');
    const out = mapStack(stack, '/x/cli/dist/cli.cjs', map);
    expect(out).toContain('at f (/x/cli/src/commands/run.ts:41:5)');
    expect(out).toContain('at g (/x/cli/src/main.ts:1:1)');
    expect(out).toContain('node:internal/x:1:1');
  });
});
