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
