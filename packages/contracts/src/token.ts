// One encoding from an arbitrary label value to exactly one bounded NATS subject token.
//
// Label values are operator-chosen (`dev.clawker.project=my.app v2`), but a NATS token may not
// contain `.`, `*`, `>` or whitespace and may not be empty. We keep the characters that are
// unambiguous and readable ([A-Za-z0-9_-]) and percent-encode every other UTF-8 byte as `%XX`
// (upper-case hex). The empty string encodes to a lone `%`, which no other input can produce
// because every other `%` is followed by two hex digits.
//
// Tokens are bounded: a subject holds two label tokens, and one unbounded value (a 4 KB label)
// pushed the publish control line past NATS's 4096 bytes, which closes the connection. An
// encoding longer than MAX_TOKEN_LENGTH becomes a *bounded* token: a readable prefix of the
// exact encoding, `~`, and 128 bits of SHA-256 over the value. `~` is never emitted by the exact
// encoding (it would be `%7E`), so the two forms cannot collide; the exact value travels in the
// payload. Short values still decode back to the exact input; bounded tokens do not decode.
import { createHash } from 'node:crypto';

const KEEP = /^[A-Za-z0-9_-]$/;
const utf8 = new TextEncoder();
// ignoreBOM: a value may begin with U+FEFF, and the decoder would otherwise strip it.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const EMPTY_TOKEN = '%';
/** Longest token encodeToken emits; values whose exact encoding is longer get a hash suffix. */
export const MAX_TOKEN_LENGTH = 128;
/** Marks a bounded token; the exact encoding escapes `~`. */
export const BOUNDED_MARK = '~';
const HASH_HEX = 32;
const PREFIX_MAX = MAX_TOKEN_LENGTH - BOUNDED_MARK.length - HASH_HEX;
const BOUNDED = /^[A-Za-z0-9_%-]*~[0-9a-f]{32}$/;

/**
 * Total and injective (up to SHA-256 collisions): never throws, always one valid token of at most
 * MAX_TOKEN_LENGTH characters. A string that is not well-formed Unicode (a lone surrogate) has no
 * exact UTF-8 form, so it always gets the bounded form, hashed over its UTF-16 code units.
 */
export function encodeToken(value: string): string {
  if (value.length === 0) return EMPTY_TOKEN;
  const wellFormed = isWellFormedUnicode(value);
  let out = '';
  // The last character boundary that still leaves room for the hash suffix.
  let cut = 0;
  for (const ch of value) {
    if (KEEP.test(ch)) out += ch;
    else for (const byte of utf8.encode(ch)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    if (out.length <= PREFIX_MAX) cut = out.length;
    if (out.length > MAX_TOKEN_LENGTH) break; // the rest only feeds the hash
  }
  if (wellFormed && out.length <= MAX_TOKEN_LENGTH) return out;
  return out.slice(0, cut) + BOUNDED_MARK + valueHash(value, wellFormed);
}

/** No lone surrogates: the string has an exact UTF-8 form (String#isWellFormed is ES2024). */
export function isWellFormedUnicode(value: string): boolean {
  return !/\p{Cs}/u.test(value);
}

function valueHash(value: string, wellFormed: boolean): string {
  const h = createHash('sha256');
  // 0xFF never begins valid UTF-8: the UTF-16 input of an ill-formed string is domain-separated.
  if (wellFormed) h.update(value, 'utf8');
  else h.update(Buffer.from([0xff])).update(Buffer.from(value, 'utf16le'));
  return h.digest('hex').slice(0, HASH_HEX);
}

/** A token with a hash suffix: it names its value but does not carry it (read the payload). */
export function isBoundedToken(token: string): boolean {
  return BOUNDED.test(token);
}

export class TokenError extends Error {
  constructor(
    readonly token: string,
    reason: string,
  ) {
    super(`invalid subject token ${JSON.stringify(token.length > 200 ? token.slice(0, 200) + '…' : token)}: ${reason}`);
    this.name = 'TokenError';
  }
}

/** The exact value of a token encodeToken emitted; throws for bounded tokens and non-canonical ones. */
export function decodeToken(token: string): string {
  if (token === EMPTY_TOKEN) return '';
  if (token.length === 0) throw new TokenError(token, 'empty token');
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError(token, `longer than ${MAX_TOKEN_LENGTH} characters`);
  if (isBoundedToken(token)) throw new TokenError(token, 'bounded token (hash suffix): the exact value is in the payload');
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
