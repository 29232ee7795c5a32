// A fast accept-only check compiled from a zod object schema. zod's safeParse builds a fresh output
// object and walks generic machinery for every field; for the flat event shapes every consumer of
// SLUICE_EVENTS reads (the sink, the learner) a handful of typeof/regex tests say the same thing in
// a fraction of the time. The contract is one-sided: the check answers `true` only when zod would
// accept the value *and* return it unchanged (every key known, nothing stripped, nothing
// transformed). Anything else answers `false`, and the caller asks zod, whose verdict and messages
// stay the only ones ever reported. So a gap here costs speed, never behaviour.
//
// It is compiled from the schema's own definitions (not written by hand beside it), so a field
// added or tightened in @sluice/contracts is checked here too. A definition it does not know
// (refinements, transforms, defaults, unions, records with checked keys, …) makes `compileFastCheck` return
// undefined: that schema then goes through zod alone.

type Check = (v: unknown) => boolean;

/** The parts of zod 4's internal definition this reads; anything else is declined. */
export interface Def {
  type: string;
  check?: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  entries?: Record<string, unknown>;
  shape?: Record<string, { _zod: { def: Def } }>;
  catchall?: unknown;
  keyType?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
}

export interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  when?: unknown;
}

// zod gives length checks a default `when` (run on any value that has a length), which always
// holds for the strings and arrays these checks see; only a caller-supplied one is declined.
const DEFAULT_WHEN = new Set(['_whenHasLength', '_whenHasSize']);
export function conditional(c: CheckDef): boolean {
  return c.when !== undefined && !(typeof c.when === 'function' && DEFAULT_WHEN.has(c.when.name));
}

export class Unsupported extends Error {}

export function defOf(schema: unknown): Def {
  const def = (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
  if (!def || typeof def.type !== 'string') throw new Unsupported('not a zod 4 schema');
  return def;
}

function stringCheck(c: CheckDef): (s: string) => boolean {
  if (conditional(c)) throw new Unsupported('conditional check');
  switch (c.check) {
    case 'min_length': {
      const min = c.minimum!;
      return (s) => s.length >= min;
    }
    case 'max_length': {
      const max = c.maximum!;
      return (s) => s.length <= max;
    }
    case 'string_format': {
      // `regex` and the ISO formats (datetime, date, …) carry the very pattern zod tests with.
      const re = c.pattern;
      if (!(re instanceof RegExp) || re.global || re.sticky) throw new Unsupported(`string format ${c.format}`);
      return (s) => re.test(s);
    }
    default:
      throw new Unsupported(`string check ${c.check}`);
  }
}

export function numberCheck(c: CheckDef): (n: number) => boolean {
  if (conditional(c)) throw new Unsupported('conditional check');
  switch (c.check) {
    case 'number_format':
      if (c.format === 'safeint') return (n) => Number.isSafeInteger(n);
      throw new Unsupported(`number format ${c.format}`);
    case 'greater_than': {
      const v = c.value!;
      return c.inclusive ? (n) => n >= v : (n) => n > v;
    }
    case 'less_than': {
      const v = c.value!;
      return c.inclusive ? (n) => n <= v : (n) => n < v;
    }
    default:
      throw new Unsupported(`number check ${c.check}`);
  }
}

function all<T>(tests: Array<(x: T) => boolean>): (x: T) => boolean {
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (x) => {
    for (const t of tests) if (!t(x)) return false;
    return true;
  };
}

function compileValue(def: Def): Check {
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  // A format schema (z.iso.datetime(), z.email(), …) is itself a check: its def carries `check`.
  if ((def as Partial<CheckDef>).check !== undefined) checks.unshift(def as unknown as CheckDef);
  switch (def.type) {
    case 'string': {
      const ok = all(checks.map(stringCheck));
      return (v) => typeof v === 'string' && ok(v);
    }
    case 'number': {
      const ok = all(checks.map(numberCheck));
      // zod 4 refuses NaN and ±Infinity for z.number() (JSON.parse turns 1e400 into Infinity).
      return (v) => typeof v === 'number' && Number.isFinite(v) && ok(v);
    }
    case 'boolean':
      if (checks.length > 0) throw new Unsupported('boolean check');
      return (v) => typeof v === 'boolean';
    case 'enum': {
      if (checks.length > 0) throw new Unsupported('enum check');
      const values = Object.values(def.entries ?? {});
      if (!values.every((x) => typeof x === 'string')) throw new Unsupported('non-string enum');
      const set = new Set(values);
      return (v) => typeof v === 'string' && set.has(v);
    }
    case 'array': {
      const min = checks.length > 0 ? all(checks.map(arrayCheck)) : () => true;
      const el = compileValue(defOf(def.element));
      return (v) => {
        if (!Array.isArray(v) || !min(v)) return false;
        for (const x of v) if (!el(x)) return false;
        return true;
      };
    }
    case 'unknown':
      // zod returns whatever it was given, untouched (JSON has no `undefined` to treat apart).
      if (checks.length > 0) throw new Unsupported('unknown check');
      return () => true;
    case 'record': {
      // Only z.record(z.string(), …): every key of a JSON object is a string. zod copies the entries
      // into a new object, which is the same object unless a key is `__proto__` (an own property
      // from JSON.parse, an assignment to the prototype in the copy): such a value goes to zod.
      if (checks.length > 0) throw new Unsupported('record check');
      const key = defOf(def.keyType);
      if (key.type !== 'string' || (key.checks?.length ?? 0) > 0 || (key as Partial<CheckDef>).check !== undefined) throw new Unsupported('record key');
      const value = compileValue(defOf(def.valueType));
      return (v) => {
        if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
        if (Object.hasOwn(v, '__proto__')) return false;
        for (const k in v) if (!value((v as Record<string, unknown>)[k])) return false;
        return true;
      };
    }
    default:
      throw new Unsupported(`type ${def.type}`);
  }
}

function arrayCheck(c: CheckDef): (a: unknown[]) => boolean {
  if (conditional(c)) throw new Unsupported('conditional check');
  if (c.check === 'min_length') return (a) => a.length >= c.minimum!;
  if (c.check === 'max_length') return (a) => a.length <= c.maximum!;
  throw new Unsupported(`array check ${c.check}`);
}

/**
 * Compile `schema` (a zod 4 `z.object`) into an accept-only check, or undefined when the schema
 * uses something this does not understand.
 */
export function compileFastCheck(schema: unknown): ((value: unknown) => boolean) | undefined {
  try {
    const def = defOf(schema);
    if (def.type !== 'object' || def.catchall !== undefined || (def.checks?.length ?? 0) > 0 || !def.shape) {
      throw new Unsupported('not a plain z.object');
    }
    // A Map, not an object: an input key like "__proto__" or "toString" must not find anything.
    const fields = new Map<string, { check: Check; required: boolean }>();
    let required = 0;
    for (const [key, field] of Object.entries(def.shape)) {
      const d = defOf(field);
      const optional = d.type === 'optional';
      if (!optional) required++;
      fields.set(key, { check: compileValue(optional ? defOf(d.innerType) : d), required: !optional });
    }
    return (value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      let seenRequired = 0;
      for (const key in value) {
        const f = fields.get(key);
        // Unknown keys would be stripped by zod: the output would differ from the input.
        if (f === undefined || !Object.prototype.hasOwnProperty.call(value, key)) return false;
        if (!f.check((value as Record<string, unknown>)[key])) return false;
        if (f.required) seenRequired++;
      }
      // Keys of one object are distinct, so the count proves every required key is there.
      return seenRequired === required;
    };
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}
