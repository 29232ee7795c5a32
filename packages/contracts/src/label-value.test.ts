import { describe, expect, it } from 'vitest';
import { labelValueProblem, MAX_LABEL_VALUE_BYTES } from './label-value.ts';

describe('label values Sluice carries', () => {
  it('carries 4 KB values, control characters and unicode exactly', () => {
    for (const v of ['', 'p'.repeat(4096), '\u0000\u0007\u001b[31m\r\n', 'ünïcødé 🚀', '\ufffd', 'x'.repeat(MAX_LABEL_VALUE_BYTES)]) {
      expect(labelValueProblem(v)).toBeUndefined();
    }
  });

  it('does not carry values over the cap, measured in UTF-8 bytes', () => {
    expect(labelValueProblem('p'.repeat(64 * 1024))).toEqual({ reason: 'label_too_long', detail: '65536 bytes, over the 16384-byte limit' });
    expect(labelValueProblem('x'.repeat(MAX_LABEL_VALUE_BYTES + 1))?.reason).toBe('label_too_long');
    // 6000 characters, 18000 bytes.
    expect(labelValueProblem('€'.repeat(6000))?.reason).toBe('label_too_long');
  });

  it('does not carry strings with lone surrogates, naming the offset', () => {
    expect(labelValueProblem('ab\ud800')).toEqual({ reason: 'label_not_unicode', detail: 'lone UTF-16 surrogate at offset 2: no exact UTF-8 form' });
    expect(labelValueProblem('🚀')).toBeUndefined();
  });
});
