// What a test run left in the test instance's JetStream: consumers and stored messages by stream.
// Stale durables and streams piled up across runs (248 consumers, 5.9 GB) until JetStream API
// requests went unanswered and a bench hung; their names say which test or bench made them.
// Usage: node scripts/lib/nats-leftovers.mjs <monitor url>. Prints to stderr; never fails the run.
const url = process.argv[2];
try {
  const r = await fetch(`${url}/jsz?streams=1&consumers=1`, { signal: AbortSignal.timeout(5000) });
  const jsz = await r.json();
  const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
  const consumers = streams.flatMap((s) => (s.consumer_detail ?? []).map((c) => `${s.name}/${c.name}`));
  const mb = streams.reduce((a, s) => a + (s.state?.bytes ?? 0), 0) / 1e6;
  const by = streams.filter((s) => (s.state?.messages ?? 0) > 0).map((s) => `${s.name} ${s.state.messages}`);
  process.stderr.write(`left in the test JetStream: ${streams.length} streams (${mb.toFixed(1)} MB${by.length ? `: ${by.join(', ')}` : ''}), ${consumers.length} consumers${consumers.length ? `: ${consumers.slice(0, 40).join(' ')}${consumers.length > 40 ? ' …' : ''}` : ''}\n`);
} catch (err) {
  process.stderr.write(`left in the test JetStream: not read (${err.message})\n`);
}
