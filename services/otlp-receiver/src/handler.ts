// POST /v1/logs, as OTLP/HTTP defines it (https://opentelemetry.io/docs/specs/otlp/#otlphttp):
// bounded body (413), gzip or none (415 otherwise), protobuf or JSON (415 otherwise), decodable
// (400), within the sender's rate (429 + Retry-After), stored in JetStream (503 + Retry-After when
// not, which OTLP exporters retry) — and only then 200 with an empty ExportLogsServiceResponse in
// the request's encoding. Refusals carry a google.rpc.Status body naming the reason, and each is
// counted by reason.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { context, injectTrace, propagation, SpanKind, SpanStatusCode, trace, tracer, type Context, type Logger } from '@sluice/runtime';
import type { OtlpValue, WorkloadIdentity } from '@sluice/contracts';
import { attribute, type AttributionKeys } from './attribution.ts';
import { checkContentEncoding, encodingOf, inflate, readBody, Refusal } from './body.ts';
import { decodeLogs, MalformedRequest, type Encoding } from './decode.ts';
import type { ReceiverMetrics } from './metrics.ts';
import { ExportLogsServiceResponse, RpcStatus } from './proto.ts';
import { publishSlices, slices, type Publisher } from './publish.ts';
import type { SenderRateLimit } from './rate-limit.ts';
import { buildEvents, countRecords } from './records.ts';
import type { Redactor } from './redact.ts';
import { normalizeIp } from './sender-lookup.ts';

export interface HandlerDeps {
  node: string;
  subject: string;
  maxBodyBytes: number;
  maxMessageBytes: number;
  publisher: Publisher;
  resolveSender: (ip: string) => Promise<WorkloadIdentity | null>;
  rateLimit: SenderRateLimit;
  redactor: Redactor;
  contentEvents: ReadonlySet<string>;
  keys: AttributionKeys;
  metrics: ReceiverMetrics;
  log: Logger;
  now?: () => number;
}

export const LOGS_PATH = '/v1/logs';

// gRPC codes in google.rpc.Status, as the OTLP spec pairs them with HTTP statuses.
const GRPC_CODE: Record<number, number> = { 400: 3, 404: 12, 405: 12, 413: 3, 415: 3, 429: 8, 503: 14 };

function send(res: ServerResponse, status: number, encoding: Encoding, body: Uint8Array | string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json', ...extra });
  res.end(body);
}

function refuse(res: ServerResponse, r: Refusal, encoding: Encoding, extra: Record<string, string> = {}): void {
  const status = { code: GRPC_CODE[r.status] ?? 2, message: r.message };
  const body = encoding === 'protobuf' ? RpcStatus.encode(RpcStatus.create(status)).finish() : JSON.stringify(status);
  // Past an oversized body the connection is not reused: the sender may still be writing it.
  send(res, r.status, encoding, body, r.reason === 'too_large' ? { connection: 'close', ...extra } : extra);
}

export function createLogsHandler(d: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const now = d.now ?? Date.now;
  const okProtobuf = ExportLogsServiceResponse.encode({}).finish();

  async function handle(req: IncomingMessage, res: ServerResponse, encodingHint: { value: Encoding }, traceCtx: Context): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== LOGS_PATH) throw new Refusal('not_found', 404, `no such path ${JSON.stringify(path)}: OTLP logs go to ${LOGS_PATH}`);
    if (req.method !== 'POST') throw new Refusal('method_not_allowed', 405, `${req.method} ${LOGS_PATH}: only POST`);
    const encoding = encodingOf(req.headers['content-type']);
    encodingHint.value = encoding;
    const contentEncoding = checkContentEncoding(req.headers['content-encoding'] as string | undefined);
    let body = await readBody(req, d.maxBodyBytes);
    if (contentEncoding === 'gzip') body = await inflate(body, d.maxBodyBytes);
    let decoded;
    try {
      decoded = decodeLogs(body, encoding);
    } catch (err) {
      if (err instanceof MalformedRequest) throw new Refusal('malformed', 400, err.message);
      throw err;
    }
    const count = countRecords(decoded);
    const sourceIp = normalizeIp(req.socket.remoteAddress);
    const receivedMs = now();
    if (count > 0) {
      const decision = d.rateLimit.take(sourceIp, count, receivedMs);
      if (!decision.ok) {
        const r = new Refusal('rate_limited', 429, `sender ${sourceIp} is over its rate: retry after ${decision.retryAfterS} s`);
        d.metrics.refused('rate_limited', count);
        refuse(res, r, encoding, { 'retry-after': String(decision.retryAfterS) });
        return;
      }
    }
    // One lookup per request (cached), before building: every resource of the request came from it.
    const sender = count > 0 ? await d.resolveSender(sourceIp) : null;
    const requestId = randomUUID();
    const built = buildEvents(decoded, {
      requestId,
      node: d.node,
      sourceIp,
      receivedMs,
      redactor: d.redactor,
      contentEvents: d.contentEvents,
      attribution: (resource: Record<string, OtlpValue>) => attribute(resource, sender, d.keys),
    });
    if (built.events.length > 0) {
      const h = natsHeaders();
      injectTrace(h, traceCtx);
      try {
        await publishSlices(d.publisher, d.subject, requestId, slices(built.events, d.maxMessageBytes), h);
      } catch (err) {
        d.log.warn({ err: (err as Error).message, records: count, sender: sourceIp }, 'could not store OTLP logs in JetStream; sender told to retry');
        d.metrics.refused('unavailable', count);
        refuse(res, new Refusal('unavailable', 503, `could not store the records: ${(err as Error).message}`), encoding, { 'retry-after': '1' });
        return;
      }
    }
    d.metrics.redacted(built.redacted);
    const byAttribution = new Map<string, number>();
    for (const e of built.events) byAttribution.set(e.attribution, (byAttribution.get(e.attribution) ?? 0) + 1);
    d.metrics.accepted(byAttribution);
    send(res, 200, encoding, encoding === 'protobuf' ? okProtobuf : '{}');
  }

  return (req, res) => {
    const hint: { value: Encoding } = { value: 'json' };
    // A sender's own trace context (W3C traceparent on the request) is continued, else a new trace starts here.
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer().startSpan('sluice.otlp receive', { kind: SpanKind.SERVER, attributes: { 'http.route': LOGS_PATH } }, parent);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    // The context is passed on, not made active: no context crosses an await (runtime sync-context.ts).
    handle(req, res, hint, trace.setSpan(parent, span)).catch((err: unknown) => {
      if (err instanceof Refusal) {
        d.metrics.refused(err.reason);
        if (err.reason !== 'aborted') refuse(res, err, hint.value);
        else req.destroy();
        return;
      }
      d.log.error({ err }, 'OTLP request failed unexpectedly');
      d.metrics.refused('unavailable');
      refuse(res, new Refusal('unavailable', 503, 'internal error'), hint.value, { 'retry-after': '1' });
    });
  };
}
