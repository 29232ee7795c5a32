import { EgressEvent, flatFieldRules } from '@sluice/contracts';
import { seeded } from '@sluice/testkit/unit';
import { describe, expect, it } from 'vitest';
import { isoDatetimeBytes, ZOD_ISO_DATETIME } from './iso-datetime-bytes.ts';

const rule = flatFieldRules(EgressEvent)!.get('time') as { patterns: RegExp[] };
const re = rule.patterns[0]!;

describe('ISO datetime on bytes', () => {
  it("recognises the regex the contracts' times are checked with (else the scanner falls back to the regex)", () => {
    expect(re.source).toBe(ZOD_ISO_DATETIME);
    expect(isoDatetimeBytes(re)).toBeDefined();
    expect(isoDatetimeBytes(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)).toBeUndefined();
    expect(isoDatetimeBytes(new RegExp(ZOD_ISO_DATETIME, 'i'))).toBeUndefined();
  });

  it("answers as zod's regex does, for dates seen before and new ones", () => {
    const r = seeded(7);
    const chars = '0123456789-:.TZtz+ x\u00e9';
    const dates = ['2026-01-01', '2024-02-29', '2023-02-29', '2000-02-29', '1900-02-29', '2026-04-31', '2026-12-31', '2026-13-01', '0000-01-01'];
    const times = ['T12:00:00Z', 'T23:59:59.999999Z', 'T24:00:00Z', 'T12:60:00Z', 'T12:00:60Z', 'T00:00Z', 'T12:00:00.Z', 'T12:00:00', 'T12:00:00+01:00', 'T09:05:07.1Z'];
    const test = isoDatetimeBytes(re)!;
    let accepted = 0;
    for (let n = 0; n < 30_000; n++) {
      let s = dates[Math.floor(r() * dates.length)]! + times[Math.floor(r() * times.length)]!;
      // Some characters changed, cut or added anywhere, dates included.
      for (let k = Math.floor(r() * 3); k > 0; k--) {
        const at = Math.floor(r() * (s.length + 1));
        const c = chars[Math.floor(r() * chars.length)]!;
        s = r() < 0.2 ? s.slice(0, at) : r() < 0.5 ? s.slice(0, at) + c + s.slice(at + 1) : s.slice(0, at) + c + s.slice(at);
      }
      const b = Buffer.from(`"${s}"`);
      // Asked twice: once maybe with a new date, once with that date known.
      const want = re.test(s);
      expect(test(b, 1, b.length - 1), s).toBe(want);
      expect(test(b, 1, b.length - 1), s).toBe(want);
      if (want) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
