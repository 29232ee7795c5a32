// Which publish errors no retry can cure. The publisher retries a failed batch with the same
// Nats-Msg-Id until it lands, which is right while NATS is away or slow; but a batch the server
// refuses for what it is (bigger than its max_payload, or than the stream's max_msg_size) is
// refused again on every attempt, and retrying it would stall every later batch behind it.
// Such a batch is dropped and counted (reason=publish) with an error naming why.

const PERMANENT = [
  /max_payload size exceeded/i, // nats.js, before sending: the server's max_payload
  /message size exceeds maximum allowed/i, // JetStream: the stream's max_msg_size
];

export function isPermanentPublishError(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return PERMANENT.some((re) => re.test(text));
}
