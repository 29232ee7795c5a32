// `pnpm bench`: runs every bench/<area>.ts that exports `run()`, merges their flat figures into
// bench/results/latest.json and writes a markdown table beside it. An area that fails is
// reported with its error and the others still run (a broken benchmark must not hide the rest).
import { existsSync, readdirSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peerTables } from './lib/peer-table.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
// --quick: shorter rounds for the areas that read BENCH_QUICK (the peer benches).
if (process.argv.includes('--quick')) process.env.BENCH_QUICK = '1';
// --except <area>: every area but that one, as a full run (scripts/bench.sh runs the cluster area
// on its own afterwards, so the clusters' JVMs and servers are not up while the others measure).
const args = process.argv.slice(2).filter((a) => a !== '--quick');
const exceptAt = args.indexOf('--except');
const except = exceptAt >= 0 ? args.splice(exceptAt, 2)[1] : undefined;
if (exceptAt >= 0 && except === undefined) throw new Error('bench/run.ts: --except needs an area name');
const only = args;
const areas = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'run.ts')
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((a) => (only.length === 0 || only.includes(a)) && a !== except)
  .sort();
if (except !== undefined && !readdirSync(here).includes(`${except}.ts`)) throw new Error(`bench/run.ts: --except ${except}: no bench/${except}.ts`);

const results = join(here, 'results');
// Running a subset (`pnpm bench reader`) updates those figures and keeps the others; a full run
// (no areas, with or without --except) starts from nothing.
const figures: Record<string, number> =
  only.length > 0 && existsSync(join(results, 'latest.json'))
    ? (JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8')) as Record<string, number>)
    : {};
const failures: Record<string, string> = {};
// Markdown lines an area adds below the tables (e.g. why a peer could not be built), kept per area.
const notes: Record<string, string[]> =
  only.length > 0 && existsSync(join(results, 'notes.json')) ? (JSON.parse(readFileSync(join(results, 'notes.json'), 'utf8')) as Record<string, string[]>) : {};
for (const area of areas) {
  process.stderr.write(`bench: ${area} …\n`);
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(here, `${area}.ts`)).href)) as {
      run?: () => Promise<Record<string, number>>;
      notes?: () => string[];
    };
    if (typeof mod.run !== 'function') continue;
    const result = await mod.run();
    for (const [k, v] of Object.entries(result)) figures[k] = v;
    if (typeof mod.notes === 'function') notes[area] = mod.notes();
    process.stderr.write(`bench: ${area} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failures[area] = err instanceof Error ? err.message : String(err);
    // The whole stack on stderr (the summary keeps the message): where it failed, not only what.
    process.stderr.write(`bench: ${area} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : failures[area]}\n`);
  }
}

mkdirSync(results, { recursive: true });
writeFileSync(join(results, 'latest.json'), `${JSON.stringify(figures, null, 2)}\n`);
writeFileSync(join(results, 'notes.json'), `${JSON.stringify(notes, null, 2)}\n`);
const rows = Object.entries(figures)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([k, v]) => `| ${k} | ${Number.isInteger(v) ? v : v.toFixed(3)} |`);
const md = [
  `# Benchmarks (${new Date().toISOString()})`,
  '',
  '| figure | value |',
  '|---|---|',
  ...rows,
  '',
  ...peerTables(figures),
  ...Object.values(notes).flat(),
  '',
  ...Object.entries(failures).map(([a, e]) => `- **${a} failed**: ${e}`),
  '',
].join('\n');
writeFileSync(join(results, 'latest.md'), md);
process.stdout.write(md);
process.exitCode = Object.keys(failures).length > 0 ? 1 : 0;
