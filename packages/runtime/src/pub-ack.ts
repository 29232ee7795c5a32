// The pure halves of a lean JetStream publish (batch-publisher.ts): the header block a message
// carries, and the store's acknowledgement read with as little work as it needs.

/** What a publish acknowledgement says: stored (maybe as a duplicate of an earlier copy), or refused. */
export type PubAckResult = { ok: true; stream: string; duplicate: boolean } | { ok: false; error: string };

// nats-server writes acks by hand, not all in Go's JSON spelling: `"duplicate": true` has a space.
const STREAM = /"stream"\s*:\s*"([^"]*)"/;
const DUPLICATE = /"duplicate"\s*:\s*true/;

/**
 * A JetStream PubAck body: `{"stream":"S","seq":1}`, `{…,"duplicate":true}` or `{"error":{…}}`.
 * An empty body with a status (`status`: the reply's status code, e.g. 503 when no stream listens
 * on the subject) is a refusal too. Only error replies are JSON-parsed; an ack is scanned.
 */
export function parsePubAck(data: Uint8Array, status?: number): PubAckResult {
  const plain = plainAck(data);
  if (plain !== undefined) return plain;
  if (data.length === 0) return { ok: false, error: status === 503 ? 'no stream listens on the subject (503 no responders)' : `empty reply${status ? ` (status ${status})` : ''}` };
  const s = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (s.includes('"error"')) {
    try {
      const e = (JSON.parse(s) as { error?: { code?: number; err_code?: number; description?: string } }).error;
      return { ok: false, error: `${e?.description ?? 'unknown error'} (code ${e?.code ?? '?'}, err_code ${e?.err_code ?? '?'})` };
    } catch {
      return { ok: false, error: `unreadable error reply: ${s.slice(0, 200)}` };
    }
  }
  const stream = STREAM.exec(s)?.[1];
  if (!stream) return { ok: false, error: `not a publish acknowledgement: ${s.slice(0, 200)}` };
  return { ok: true, stream, duplicate: DUPLICATE.test(s) };
}

const ACK_HEAD = Buffer.from('{"stream":"', 'latin1');
const ACK_SEQ = Buffer.from('","seq":', 'latin1');
/** The stream name of the last plain ack, as bytes and as the string handed out. */
let lastStream = new Uint8Array(0);
let lastStreamName = '';

/**
 * The ack almost every publish gets, `{"stream":"<name>","seq":<digits>}` exactly, read byte by
 * byte with no string but the name (the same one as last time, without decoding it again).
 * Anything else, `undefined`: parsePubAck's general reading decides.
 */
function plainAck(d: Uint8Array): PubAckResult | undefined {
  const n = d.length;
  const head = ACK_HEAD.length;
  if (n < head + ACK_SEQ.length + 2) return undefined;
  for (let k = 0; k < head; k++) if (d[k] !== ACK_HEAD[k]) return undefined;
  let e = head;
  // Printable ASCII without `\`: the name is its bytes, as the general reading's latin1 decode gives it.
  for (let c = d[e]!; c !== 0x22; c = d[++e]!) if (e >= n - 1 || c < 0x20 || c >= 0x7f || c === 0x5c) return undefined;
  // An empty name is no ack (the general reading's refusal says so).
  if (e === head || n - e < ACK_SEQ.length + 2 || d[n - 1] !== 0x7d) return undefined;
  for (let k = 1; k < ACK_SEQ.length; k++) if (d[e + k] !== ACK_SEQ[k]) return undefined;
  for (let k = e + ACK_SEQ.length; k < n - 1; k++) if (d[k]! < 0x30 || d[k]! > 0x39) return undefined;
  // `"error"` appears in this shape only as the name: the general reading takes that for an error reply.
  if (e - head === 5 && d[head] === 0x65 && d[head + 1] === 0x72 && d[head + 2] === 0x72 && d[head + 3] === 0x6f && d[head + 4] === 0x72) return undefined;
  let same = e - head === lastStream.length;
  for (let k = 0; same && k < lastStream.length; k++) same = d[head + k] === lastStream[k];
  if (!same) {
    lastStream = Uint8Array.from(d.subarray(head, e));
    lastStreamName = Buffer.from(lastStream).toString('latin1');
  }
  return { ok: true, stream: lastStreamName, duplicate: false };
}

/** Header values travel on one line: no CR or LF (they would end the header early). */
export function checkedValue(name: string, v: string): string {
  if (/[\r\n]/.test(v)) throw new Error(`header ${name}: a value cannot contain CR or LF`);
  return v;
}

/** The header lines every message of a batch shares (`Name: value\r\n`…), encoded once per batch. */
export function headerLines(headers: Iterable<readonly [string, string]>): string {
  let out = '';
  for (const [k, v] of headers) {
    if (!/^[!-9;-~]+$/.test(k)) throw new Error(`header name ${JSON.stringify(k)}: only printable ASCII without ':'`);
    out += `${k}: ${checkedValue(k, v)}\r\n`;
  }
  return out;
}

/**
 * A NATS header block (`NATS/1.0\r\n`, the lines, an empty line): the batch's shared lines, the
 * message's own (from headerLines) and its Nats-Msg-Id, the store's dedupe key.
 */
export function headerBlock(shared: string, msgId: string, own = ''): Uint8Array {
  return Buffer.from(`NATS/1.0\r\n${shared}${own}Nats-Msg-Id: ${checkedValue('Nats-Msg-Id', msgId)}\r\n\r\n`, 'utf8');
}
