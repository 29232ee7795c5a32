// The CLI's entry (cli/dist/main.js): loads the compiled CLI (cli/dist/cli.cjs, one CommonJS file)
// through V8's code cache, so a start does not parse and compile ~3 MB of JavaScript again. Node 20
// has no compile cache of its own (module.enableCompileCache is 22.1+), and vm.Script's cachedData
// works for scripts only, hence a CommonJS build behind this loader. `sluice run` spends most of its
// start-up here (bench/peers-run.ts). The cache is written by the build (scripts/build-js.mjs warms
// it with `run --help`) and rewritten by the first start that finds it missing or rejected.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { cacheKey, readCache, writeCache } from './code-cache.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const file = join(dir, 'cli.cjs');
const cacheFile = `${file}.v8cache`;
const text = readFileSync(file, 'utf8');
// A hashbang is legal only at the very start of a script, not inside Module.wrap's function.
const source = text.startsWith('#!') ? `//${text.slice(2)}` : text;
const key = cacheKey(statSync(file), process.version, process.arch);
let cached: Buffer | undefined;
try {
  cached = readCache(readFileSync(cacheFile), key);
} catch {
  cached = undefined;
}
const script = new Script(Module.wrap(source), { filename: file, cachedData: cached });
if (cached === undefined || script.cachedDataRejected) {
  // Made on exit, so it holds the functions this run compiled, not only the top level.
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, writeCache(key, script.createCachedData()));
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only install starts without the cache; nothing else depends on it.
    }
  });
}
const mod = new Module(file);
mod.filename = file;
(mod as unknown as { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dir);
const require = createRequire(file);
(script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, require, mod, file, dir);
