// Stack traces on the .ts sources for the compiled CLI. `node --enable-source-maps` maps files
// Node loads itself, not a vm.Script (cli/src/boot/main.ts loads cli.cjs as one), so the error
// path maps the frames that point into the compiled file, reading its .map only then.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Rewrites `file:line:col` frames of `compiled` through `map`; other lines stay as they are. */
export function mapStack(stack: string, compiled: string, map: SourceMap): string {
  const esc = compiled.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return stack.replace(new RegExp(`${esc}:(\\d+):(\\d+)`, 'g'), (whole, line: string, col: string) => {
    const e = map.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (e.originalSource === undefined || e.originalLine === undefined) return whole;
    // esbuild names sources relative to the compiled file (../src/main.ts).
    const src = e.originalSource.startsWith('file:')
      ? fileURLToPath(e.originalSource)
      : isAbsolute(e.originalSource)
        ? e.originalSource
        : resolve(dirname(compiled), e.originalSource);
    return `${src}:${e.originalLine + 1}:${(e.originalColumn ?? 0) + 1}`;
  });
}

/** The stack of `err` mapped to the sources when this code runs from a compiled file with a map. */
export function sourceStack(err: Error, moduleUrl: string): string {
  const stack = err.stack ?? err.message;
  if (!moduleUrl.startsWith('file:') || !moduleUrl.endsWith('.cjs')) return stack;
  const file = fileURLToPath(moduleUrl);
  try {
    return mapStack(stack, file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]));
  } catch {
    return stack;
  }
}
