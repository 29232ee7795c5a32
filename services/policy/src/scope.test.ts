import { describe, expect, it } from 'vitest';
import { tamperGuardOf } from './scope.ts';

describe('tamperGuardOf', () => {
  it("reads load's word on the tamper guard, unknown when it says nothing or is no JSON", () => {
    expect(tamperGuardOf('{"pin":"/p","tamper_guard":"attached","programs":{}}')).toBe('attached');
    expect(tamperGuardOf('{"pin":"/p","tamper_guard":"absent"}')).toBe('absent');
    expect(tamperGuardOf('{"pin":"/p"}')).toBe('unknown');
    expect(tamperGuardOf('{"tamper_guard":"maybe"}')).toBe('unknown');
    expect(tamperGuardOf('not json')).toBe('unknown');
  });
});
