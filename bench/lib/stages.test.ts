import { describe, expect, it } from 'vitest';
import { stageFigures } from './stages.ts';

describe('stageFigures', () => {
  it('gives each stage the gap between its two stamps, over the documents that carry both', () => {
    const f = stageFigures([
      { kernel: 0, raw: 10, enriched: 15, pulled: 40, bulk: 50, searchable: 900 },
      { kernel: 0, raw: 30, enriched: 35, pulled: 60, searchable: 1000 },
    ]);
    expect(f['e2e.stage.kernel_to_raw_p50_ms']).toBe(10);
    expect(f['e2e.stage.kernel_to_raw_p99_ms']).toBe(30);
    expect(f['e2e.stage.raw_to_enriched_p99_ms']).toBe(5);
    expect(f['e2e.stage.pulled_to_bulk_p99_ms']).toBe(10); // only the first has a bulk stamp
    expect(f['e2e.stage.pulled_to_searchable_p99_ms']).toBe(940);
  });
  it('leaves out a stage no document has both stamps for', () => {
    expect(Object.keys(stageFigures([{ kernel: 0, raw: 5 }]))).toEqual(['e2e.stage.kernel_to_raw_p50_ms', 'e2e.stage.kernel_to_raw_p99_ms']);
  });
});
