// YAML text → validated PolicyDocument, or every problem at once with its file, YAML path and
// line:column. Positions come from the yaml CST (LineCounter), so an error in a 400-line policy
// points at the exact key or value, and aliased values point at their anchor.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { PolicyDocument } from './policy.ts';

export const DEFAULT_POLICY_MAX_BYTES = 1024 * 1024;
/** Anchors are handy for shared port lists; a few hundred expansions is far beyond honest use. */
export const DEFAULT_POLICY_MAX_ALIASES = 100;

export interface PolicyError {
  file: string;
  /** e.g. policies[0].egress.allow[3].ports[1]; "(document)" for the whole file. */
  path: string;
  line: number;
  column: number;
  reason: string;
}

export interface ParsePolicyOptions {
  file?: string;
  maxBytes?: number;
  maxAliasCount?: number;
}

/** Where a path of the validated document sits in the source (aliases resolved to their anchor). */
export type PolicyLocator = (path: readonly PropertyKey[]) => { line: number; column: number };

export type ParsePolicyResult =
  | { ok: true; document: PolicyDocument; locate: PolicyLocator }
  | { ok: false; errors: PolicyError[] };

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}

export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.path}: ${e.reason}`;
}

export function parsePolicy(input: string | Uint8Array, opts: ParsePolicyOptions = {}): ParsePolicyResult {
  const file = opts.file ?? '<input>';
  const maxBytes = opts.maxBytes ?? DEFAULT_POLICY_MAX_BYTES;
  const maxAliasCount = opts.maxAliasCount ?? DEFAULT_POLICY_MAX_ALIASES;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  const at = (path: string, line: number, column: number, reason: string): PolicyError => ({ file, path, line, column, reason });
  // Checked before parsing so a 10 MB upload costs nothing but this comparison.
  if (size > maxBytes) {
    return { ok: false, errors: [at('(document)', 1, 1, `document is ${size} bytes, over the ${maxBytes}-byte limit`)] };
  }
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    return { ok: false, errors: [at('(document)', 1, 1, 'document is not valid UTF-8')] };
  }

  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  const pos = (offset: number) => lc.linePos(offset);
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) return { ok: false, errors: [at('(document)', 1, 1, 'document is empty')] };

  const errors: PolicyError[] = [];
  for (const extra of list.slice(1)) {
    const p = pos(extra.range[0]);
    errors.push(at('(document)', p.line, p.col, 'more than one YAML document in the file (one policy document per file)'));
  }
  const doc = list[0]!;
  for (const e of doc.errors) {
    const p = pos(e.pos[0]);
    errors.push(at('(syntax)', p.line, p.col, e.message.split('\n')[0]!));
  }
  if (errors.length) return { ok: false, errors: sortErrors(errors) };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount });
  } catch (err) {
    const first = firstAlias(doc);
    const p = pos(first?.range?.[0] ?? 0);
    const reason =
      err instanceof ReferenceError && /alias/i.test(err.message)
        ? `alias expansion exceeds ${maxAliasCount} (maxAliasCount): refusing a possible alias bomb`
        : `cannot read document: ${(err as Error).message}`;
    return { ok: false, errors: [at('(document)', p.line, p.col, reason)] };
  }

  const result = PolicyDocument.safeParse(value);
  if (result.success) {
    // Lint findings are about a valid document but still need file:line:col, so the caller gets
    // the source positions along with it rather than parsing the YAML a second time.
    const locate: PolicyLocator = (path) => {
      const { node, deepest } = walkPath(doc, path);
      const p = pos((node ?? deepest)?.range?.[0] ?? 0);
      return { line: p.line, column: p.col };
    };
    return { ok: true, document: result.data, locate };
  }
  for (const issue of result.error.issues) errors.push(...locate(doc, issue, file, pos));
  return { ok: false, errors: sortErrors(dedupe(errors)) };
}

function sortErrors(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

function dedupe(errors: PolicyError[]): PolicyError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = formatPolicyError(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function firstAlias(doc: Document): Node | undefined {
  let found: Node | undefined;
  const walk = (n: unknown): void => {
    if (found || !n) return;
    if (isAlias(n)) found = n;
    else if (isMap(n) || isSeq(n)) for (const it of n.items) walk(isMap(n) ? (it as { value: unknown }).value : it);
  };
  walk(doc.contents);
  return found;
}

/** The node at `path`, following aliases; `deepest` is the last node reached when it stops early. */
function walkPath(doc: Document, path: readonly PropertyKey[]): { node?: Node; deepest: Node | undefined; keyNode?: Node } {
  let node = doc.contents as Node | null | undefined;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (node && isAlias(node)) node = node.resolve(doc) as Node | undefined;
    if (!node) break;
    let next: Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (pair) {
        keyNode = pair.key as Node;
        next = (pair.value ?? pair.key) as Node;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg] as Node | undefined;
    }
    if (!next) return { deepest: node, ...(keyNode ? { keyNode } : {}) };
    node = next;
  }
  if (node && isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? node;
  return { node: node ?? undefined, deepest: node ?? undefined, ...(keyNode ? { keyNode } : {}) };
}

function locate(
  doc: Document,
  issue: z.core.$ZodIssue,
  file: string,
  pos: (o: number) => { line: number; col: number },
): PolicyError[] {
  const path = issue.path;
  const make = (p: readonly PropertyKey[], offset: number | undefined, reason: string): PolicyError => {
    const lp = pos(offset ?? 0);
    return { file, path: formatPath(p), line: lp.line, column: lp.col, reason };
  };
  if (issue.code === 'unrecognized_keys') {
    const { node } = walkPath(doc, path);
    return issue.keys.map((k) => {
      const pair = node && isMap(node) ? node.items.find((it) => isScalar(it.key) && String(it.key.value) === k) : undefined;
      const offset = (pair?.key as Node | undefined)?.range?.[0] ?? node?.range?.[0];
      return make([...path, k], offset, `unknown field "${k}"`);
    });
  }
  const { node, deepest } = walkPath(doc, path);
  if (!node) {
    // The value is absent: point at the mapping that should hold it.
    const field = String(path[path.length - 1] ?? '');
    const reason = issue.code === 'invalid_type' ? `missing required field "${field}"` : issue.message;
    return [make(path, deepest?.range?.[0], reason)];
  }
  return [make(path, node.range?.[0], issue.message)];
}
