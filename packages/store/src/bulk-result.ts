// What one item of a `_bulk` response means for the message it came from. Only `created` and
// `duplicate` count as accepted (ack-able); `retry` keeps the message unacked; `reject` sends the
// document to the DLQ, because sending it again would fail the same way.

export type ItemOutcome =
  | { kind: 'created' }
  /** 409 on `create` with our deterministic _id: an earlier delivery already landed it. */
  | { kind: 'duplicate' }
  | { kind: 'retry'; reason: string }
  | { kind: 'reject'; reason: string };

export interface BulkItemResponse {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

/** Error types that are about the cluster's state, not the document: the same request can succeed later. */
const TRANSIENT = new Set([
  'es_rejected_execution_exception',
  'rejected_execution_exception',
  'unavailable_shards_exception',
  'cluster_block_exception',
  'no_shard_available_action_exception',
  'node_not_connected_exception',
  'process_cluster_event_timeout_exception',
  'circuit_breaking_exception',
]);

function describe(err: BulkItemResponse['error'], status: number): string {
  if (!err) return `status ${status}`;
  const cause = err.caused_by ? ` (caused by ${err.caused_by.type}: ${err.caused_by.reason})` : '';
  return `${err.type ?? 'error'}: ${err.reason ?? 'no reason given'}${cause}`;
}

// Shared by every item with that outcome: a bulk of thousands mostly says `created`, and an object
// per item was garbage the sink made for nothing. Frozen, so no caller can change them all.
const CREATED: ItemOutcome = Object.freeze({ kind: 'created' });
const DUPLICATE: ItemOutcome = Object.freeze({ kind: 'duplicate' });

export function classifyItem(item: BulkItemResponse): ItemOutcome {
  const { status, error } = item;
  if (status === 200 || status === 201) return CREATED;
  if (status === 409) return DUPLICATE;
  if (status === 429 || status >= 500 || (error?.type !== undefined && TRANSIENT.has(error.type))) {
    return { kind: 'retry', reason: describe(error, status) };
  }
  return { kind: 'reject', reason: describe(error, status) };
}

/** Pair a `_bulk` response with the `expected` items sent; a count mismatch is a protocol error. */
export function classifyBulk(body: unknown, expected: number): ItemOutcome[] {
  const items = (body as { items?: Array<Record<string, BulkItemResponse>> })?.items;
  if (!Array.isArray(items) || items.length !== expected) {
    throw new Error(`_bulk response has ${Array.isArray(items) ? items.length : 'no'} items, expected ${expected}`);
  }
  return items.map((entry, i) => {
    const item = entry.create ?? entry.index ?? Object.values(entry)[0];
    if (!item || typeof item.status !== 'number') throw new Error(`_bulk response item ${i} has no status`);
    return classifyItem(item);
  });
}
