import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classifyStack, type CpuProfile } from './cpu-profile.ts';
import { withSourceFiles } from './profile-sources.ts';

describe('withSourceFiles', () => {
  it('names a bundled function by the source its map gives, so its stage is found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'profile-sources-'));
    try {
      const dist = join(dir, 'services', 'attributor', 'dist');
      const bundle = join(dist, 'main.js');
      mkdirSync(dist, { recursive: true });
      writeFileSync(bundle, 'function renderBatch() {}\nfunction other() {}\n');
      // Line 0 → ../src/render.ts; line 1 → ../src/raw-consumer.ts ("AAAA": column 0 of source 0, "ACAA": source +1).
      writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ['../src/render.ts', '../src/raw-consumer.ts'], names: [], mappings: 'AAAA;ACAA' }));
      const url = pathToFileURL(bundle).href;
      const p: CpuProfile = {
        nodes: [
          { id: 1, callFrame: { functionName: 'renderBatch', url, lineNumber: 0, columnNumber: 9 } as never },
          { id: 2, callFrame: { functionName: 'other', url, lineNumber: 1, columnNumber: 9 } as never },
          { id: 3, callFrame: { functionName: 'write', url: 'node:net' } },
        ],
        startTime: 0,
        endTime: 1,
        samples: [],
        timeDeltas: [],
      };
      expect(classifyStack([p.nodes[0]!.callFrame])).toBe('other');
      withSourceFiles(p);
      expect(p.nodes[0]!.callFrame.url).toBe(pathToFileURL(join(dir, 'services', 'attributor', 'src', 'render.ts')).href);
      expect(classifyStack([p.nodes[0]!.callFrame])).toBe('render');
      expect(p.nodes[1]!.callFrame.url.endsWith('/services/attributor/src/raw-consumer.ts')).toBe(true);
      expect(p.nodes[2]!.callFrame.url).toBe('node:net');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
