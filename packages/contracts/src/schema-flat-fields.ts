// A flat zod object schema's rules, field by field, for checkers that never build the value: the
// sink's byte scanner (store/egress-scan.ts) checks an NDJSON line's values where they lie in its
// bytes. Read from the schema's own definitions, like schema-fast-check.ts, so a field added or
// tightened in the contract is checked there too. The same one-sided contract: a rule must accept
// a value only when zod accepts it and returns it unchanged. Any definition not understood here
// (arrays, records, unions, refinements, …) makes the whole schema unsupported: undefined.
import { conditional, defOf, numberCheck, Unsupported, type CheckDef, type Def } from './schema-fast-check.ts';

export type FieldRule = { required: boolean } & (
  | {
      type: 'string';
      /** Bounds on the string's length in UTF-16 units (zod's `s.length`). */
      minLength: number;
      maxLength: number;
      /** Every one must match (the very regexes zod tests with). */
      patterns: RegExp[];
    }
  | { type: 'enum'; values: string[] }
  | { type: 'number'; check: (n: number) => boolean }
  | { type: 'boolean' }
);

function stringRule(checks: CheckDef[]): FieldRule & { type: 'string' } {
  const rule = { required: true, type: 'string' as const, minLength: 0, maxLength: Infinity, patterns: [] as RegExp[] };
  for (const c of checks) {
    if (conditional(c)) throw new Unsupported('conditional check');
    if (c.check === 'min_length') rule.minLength = Math.max(rule.minLength, c.minimum!);
    else if (c.check === 'max_length') rule.maxLength = Math.min(rule.maxLength, c.maximum!);
    else if (c.check === 'string_format' && c.pattern instanceof RegExp && !c.pattern.global && !c.pattern.sticky) rule.patterns.push(c.pattern);
    else throw new Unsupported(`string check ${c.check}`);
  }
  return rule;
}

function fieldRule(def: Def): FieldRule {
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  // A format schema (z.iso.datetime(), …) is itself a check: its def carries `check`.
  if ((def as Partial<CheckDef>).check !== undefined) checks.unshift(def as unknown as CheckDef);
  switch (def.type) {
    case 'string':
      return stringRule(checks);
    case 'number': {
      const tests = checks.map(numberCheck);
      // zod 4 refuses NaN and ±Infinity for z.number(). A plain loop: this runs per value, and a
      // callback made per call (tests.every) was most of what the sink's byte scanner allocated.
      const check = (n: number): boolean => {
        if (!Number.isFinite(n)) return false;
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(n)) return false;
        return true;
      };
      return { required: true, type: 'number', check };
    }
    case 'boolean':
      if (checks.length > 0) throw new Unsupported('boolean check');
      return { required: true, type: 'boolean' };
    case 'enum': {
      const values = Object.values(def.entries ?? {});
      if (checks.length > 0 || !values.every((x): x is string => typeof x === 'string')) throw new Unsupported('enum');
      return { required: true, type: 'enum', values };
    }
    default:
      throw new Unsupported(`type ${def.type}`);
  }
}

/** The rules of a plain z.object of scalar fields, by key, or undefined when it is anything else. */
export function flatFieldRules(schema: unknown): Map<string, FieldRule> | undefined {
  try {
    const def = defOf(schema);
    if (def.type !== 'object' || def.catchall !== undefined || (def.checks?.length ?? 0) > 0 || !def.shape) throw new Unsupported('not a plain z.object');
    const rules = new Map<string, FieldRule>();
    for (const [key, field] of Object.entries(def.shape)) {
      const d = defOf(field);
      const optional = d.type === 'optional';
      rules.set(key, { ...fieldRule(optional ? defOf(d.innerType) : d), required: !optional });
    }
    return rules;
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}
