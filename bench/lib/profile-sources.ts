// A bundled service's `.cpuprofile` names one file (dist/main.js) for every function, and the
// stage breakdown (cpu-profile.ts) charges samples by source file: every stage but GC came out 0%
// once the benches ran services compiled. This maps each call frame back through the bundle's
// source map (`<file>.js.map` beside it) to the file the function came from.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CallFrame, CpuProfile } from './cpu-profile.ts';

type PositionedFrame = CallFrame & { lineNumber?: number; columnNumber?: number };

/** `p` with each bundled frame's url replaced by its original source's (in place; returns `p`). */
export function withSourceFiles(p: CpuProfile): CpuProfile {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  for (const n of p.nodes) {
    const f = n.callFrame as PositionedFrame;
    if (!f.url.startsWith('file://') || !f.url.endsWith('.js') || f.lineNumber === undefined || f.lineNumber < 0) continue;
    let m = maps.get(f.url);
    if (m === undefined) {
      const path = fileURLToPath(f.url);
      m = existsSync(`${path}.map`) ? { map: new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))), dir: dirname(path) } : null;
      maps.set(f.url, m);
    }
    if (!m) continue;
    const e = m.map.findEntry(f.lineNumber, f.columnNumber ?? 0);
    if ('originalSource' in e && e.originalSource) f.url = pathToFileURL(resolve(m.dir, e.originalSource)).href;
  }
  return p;
}
