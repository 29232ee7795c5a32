// Compiles what runs in production — the five services, the CLI and its supervisor — to one
// JavaScript file each (dist/), so nothing transpiles TypeScript at start (tsx did, at every start,
// in the images too). Everything is bundled in, npm dependencies included: a workspace package's own
// dependencies are not resolvable from a service directory under pnpm's strict layout, and one file
// starts faster than hundreds. Native add-ons (optional speed-ups of dockerode's ssh2) stay external
// and degrade as their packages intend when absent. Source maps keep stack traces on the .ts sources.
//
//   node scripts/build-js.mjs [--check]   --check: exit 1 if any output is older than its sources
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['bpf-reader', 'attributor', 'policy', 'learner', 'sink', 'otlp-receiver'];

export const TARGETS = [
  ...SERVICES.map((s) => ({ entry: `services/${s}/src/main.ts`, out: `services/${s}/dist/main.js` })),
  // The CLI is one CommonJS file (cli.cjs) behind a small loader (main.js) that compiles it through
  // V8's code cache (cli/src/boot/main.ts): start-up of `sluice run` without re-parsing the CLI.
  { entry: 'cli/src/main.ts', out: 'cli/dist/cli.cjs', format: 'cjs' },
  { entry: 'cli/src/boot/main.ts', out: 'cli/dist/main.js' },
  { entry: 'cli/src/supervise/main.ts', out: 'cli/dist/supervise.js' },
];

const NATIVE = ['cpu-features', '*.node'];
const STAMP = join(root, 'cli', 'dist', '.built');

// Bundled CommonJS dependencies use require() and __dirname; give the ESM output both.
const ESM = {
  banner: {
    js: [
      "import { createRequire as __sluiceRequire } from 'node:module';",
      "import { fileURLToPath as __sluiceToPath } from 'node:url';",
      'const require = __sluiceRequire(import.meta.url);',
      'const __filename = __sluiceToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
};
// The CommonJS output has require() and __filename; give the ESM sources their import.meta.
const CJS = {
  banner: { js: "const __sluiceMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__sluiceMetaUrl', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
};

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['packages', 'services', 'cli']) walk(join(root, d));
  return newest;
}

if (process.argv.includes('--check')) {
  const src = newestSource();
  const stale = TARGETS.filter((t) => !existsSync(join(root, t.out)) || statSync(join(root, t.out)).mtimeMs < src);
  process.exit(stale.length ? 1 : 0);
}

const started = Date.now();
// Chunks of the earlier split CLI build and a code cache of the previous cli.cjs: dist/ holds one build.
for (const dir of [join(root, 'cli', 'dist')]) {
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (/^chunk-.*\.js(\.map)?$|\.v8cache$/.test(f)) rmSync(join(dir, f));
}
await Promise.all(
  TARGETS.map((t) =>
    build({
      entryPoints: [join(root, t.entry)],
      outfile: join(root, t.out),
      bundle: true,
      platform: 'node',
      format: t.format ?? 'esm',
      target: 'node20',
      sourcemap: true,
      // Keeps import.meta.url-relative paths right: every output sits one level below its package,
      // as its source did (src/ → dist/).
      external: NATIVE,
      logLevel: 'warning',
      ...(t.format === 'cjs' ? CJS : ESM),
    }),
  ),
);
// The loader writes the CLI's code cache when it finds none; one start that loads `sluice run` (its
// usage text) fills it with the run path's compiled functions, so the first real run starts warm.
execFileSync(process.execPath, [join(root, 'cli/dist/main.js'), 'run', '--help'], { stdio: 'ignore' });
// Written last: the ./sluice wrapper compares the sources with it (a find in bash), so its every start
// does not pay a Node start for --check.
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
process.stderr.write(`build-js: ${TARGETS.length} outputs in ${Date.now() - started} ms (${TARGETS.map((t) => relative(root, join(root, t.out))).join(', ')})\n`);
