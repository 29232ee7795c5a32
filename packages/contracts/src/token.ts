// One reversible encoding from an arbitrary label value to exactly one NATS subject token.
//
// Label values are operator-chosen (`dev.clawker.project=my.app v2`), but a NATS token may not
// contain `.`, `*`, `>` or whitespace and may not be empty. We keep the characters that are
// unambiguous and readable ([A-Za-z0-9_-]) and percent-encode every other UTF-8 byte as `%XX`
// (upper-case hex). The empty string encodes to a lone `%`, which no other input can produce
// because every other `%` is followed by two hex digits. The output is therefore printable
// ASCII, never empty, and decodes back to the exact input.

const KEEP = /^[A-Za-z0-9_-]$/;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export const EMPTY_TOKEN = '%';

export function encodeToken(value: string): string {
  if (value.length === 0) return EMPTY_TOKEN;
  let out = '';
  for (const ch of value) {
    if (KEEP.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of utf8.encode(ch)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export class TokenError extends Error {
  constructor(
    readonly token: string,
    reason: string,
  ) {
    super(`invalid subject token ${JSON.stringify(token)}: ${reason}`);
    this.name = 'TokenError';
  }
}

export function decodeToken(token: string): string {
  if (token === EMPTY_TOKEN) return '';
  if (token.length === 0) throw new TokenError(token, 'empty token');
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch === '%') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new TokenError(token, `bad escape at offset ${i}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (KEEP.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      throw new TokenError(token, `character ${JSON.stringify(ch)} at offset ${i} must be escaped`);
    }
  }
  try {
    const value = utf8Strict.decode(new Uint8Array(bytes));
    // Canonical form only: a token that decodes but is not what we would emit (e.g. `%41` for `A`)
    // would give one label two subjects, breaking per-label subscriptions.
    if (encodeToken(value) !== token) throw new TokenError(token, 'not in canonical form');
    return value;
  } catch (err) {
    if (err instanceof TokenError) throw err;
    throw new TokenError(token, 'escapes do not form valid UTF-8');
  }
}

/** True when `token` is usable as exactly one literal NATS subject token. */
export function isValidToken(token: string): boolean {
  return token.length > 0 && !/[\s.*>]/.test(token) && /^[\x21-\x7e]+$/.test(token);
}
