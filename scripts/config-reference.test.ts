import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUTPUT, render, settingsOf, SOURCES } from './config-reference.ts';

describe('docs/config.md', () => {
  it('is what the config schemas generate today (run `pnpm config-reference` after changing a config.ts)', () => {
    expect(existsSync(OUTPUT), `${OUTPUT} is missing: run pnpm config-reference`).toBe(true);
    expect(readFileSync(OUTPUT, 'utf8')).toBe(render());
  });

  it('lists every variable a schema declares, with its default as written', () => {
    const sink = settingsOf(SOURCES.find((s) => s.component === 'sink')!.file, 'env');
    expect(sink.find((v) => v.name === 'SINK_INDEX_PREFIX')).toMatchObject({ type: 'string', default: "`'clawker-'`" });
    expect(sink.find((v) => v.name === 'OPENSEARCH_URL')?.default).toBe('unset');
    const common = settingsOf('packages/runtime/src/config.ts', 'commonEnv');
    expect(common.find((v) => v.name === 'NATS_URL')?.default).toBe('**required**');
    expect(common.find((v) => v.name === 'LOG_LEVEL')?.type).toBe('one of LOG_LEVELS');
  });

  it('names one setting one way: no variable is declared under two spellings of the same idea', () => {
    const names = new Set(SOURCES.flatMap((s) => settingsOf(s.file, s.object).map((v) => v.name)));
    for (const [a, b] of [
      ['SLUICE_PIN_DIR', 'SLUICE_BPF_PIN'],
      ['SLUICE_BPF_HELPER', 'SLUICE_BPF_BIN'],
      ['SLUICE_NODE', 'NODE_NAME'],
    ]) expect(names.has(a!) && names.has(b!), `${a} and ${b}`).toBe(false);
    for (const gone of ['SLUICE_PIN_DIR', 'SLUICE_BPF_HELPER', 'SLUICE_NODE']) expect(names.has(gone)).toBe(false);
  });
});
