// Request/reply over core NATS for every Sluice API, from the definitions in packages/contracts.
// Server: one subscription on `<prefix>.*` in a queue group; each request is decoded, validated
// against its verb's schema, handled, and answered with the one envelope
// `{ ok: true, result } | { ok: false, error: { code, message, details? } }` — a bad request is an
// answer, never a crash or a timeout. Client: `request` sends, decodes the envelope and the
// result's schema, and throws RpcError carrying the remote code and message (or `unavailable` when
// nothing answered), so a refusal reason reaches whoever called.
import { errors, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  apiPrefix,
  apiSubject,
  RpcReply,
  type ApiDefinition,
  type ParsedRequestOf,
  type RequestOf,
  type ResultOf,
  type RpcErrorBody,
  type VerbOf,
} from '@sluice/contracts';
import type { Logger } from './logger.ts';

export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** The subject the request went to, when the error came back from (or on the way to) one. */
    readonly subject?: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toBody(): RpcErrorBody {
    return { code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
}

export type Handlers<A extends ApiDefinition> = {
  [V in VerbOf<A>]: (req: ParsedRequestOf<A, V>) => Promise<ResultOf<A, V>> | ResultOf<A, V>;
};

export interface HandleOptions {
  /** Turn a handler's own error into an envelope error; undefined: `internal` with its message. */
  mapError?: (err: unknown) => RpcErrorBody | undefined;
  /**
   * Whether this server answers a (JSON-decoded) request at all. false: stay silent so another
   * server answers it (the identity API answers only requests naming its node).
   */
  accepts?: (body: unknown) => boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function issuesOf(e: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }) {
  return e.issues.map((i) => ({ path: i.path.map(String).join('.') || '(request)', message: i.message }));
}

/**
 * Transport-free: the reply for one request, or undefined when `accepts` declined it. Never
 * rejects: every failure is an envelope.
 */
export async function handleRequest<A extends ApiDefinition>(
  api: A,
  handlers: Handlers<A>,
  verb: string,
  payload: Uint8Array | string,
  opts: HandleOptions = {},
): Promise<RpcReply | undefined> {
  let body: unknown;
  let text: string;
  try {
    // Strict: a lenient decoder would turn invalid bytes into U+FFFD, a value nobody sent.
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    if (opts.accepts && !opts.accepts(undefined)) return undefined;
    return { ok: false, error: { code: 'bad_request', message: 'request is not valid UTF-8' } };
  }
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    if (opts.accepts && !opts.accepts(undefined)) return undefined;
    return { ok: false, error: { code: 'bad_request', message: `request body is not JSON: ${(err as Error).message}` } };
  }
  if (opts.accepts && !opts.accepts(body)) return undefined;
  try {
    if (!Object.hasOwn(api.verbs, verb)) {
      throw new RpcError('bad_request', `unknown verb "${verb}" (one of ${Object.keys(api.verbs).join(', ')})`);
    }
    const schemas = api.verbs[verb]!;
    const parsed = schemas.request.safeParse(body);
    if (!parsed.success) {
      const issues = issuesOf(parsed.error);
      throw new RpcError('bad_request', `invalid ${verb} request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
    }
    const result = await (handlers[verb as VerbOf<A>] as (req: unknown) => unknown)(parsed.data);
    // A result that breaks its own schema is this server's bug: said so, not sent half-right.
    const checked = schemas.response.safeParse(result);
    if (!checked.success) {
      throw new RpcError('internal', `${api.service} built an invalid ${verb} result: ${issuesOf(checked.error).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    }
    return { ok: true, result: checked.data };
  } catch (err) {
    if (err instanceof RpcError) return { ok: false, error: err.toBody() };
    const mapped = opts.mapError?.(err);
    if (mapped) return { ok: false, error: mapped };
    return { ok: false, error: { code: 'internal', message: (err as Error)?.message ?? String(err) } };
  }
}

export interface ServeOptions extends HandleOptions {
  /** Replicas share it, so each request is answered once. */
  queue: string;
  log: Logger;
  /** Serve under `<prefix>.<verb>` instead of sluice.api.<area>.<verb>. */
  prefix?: string | undefined;
  /** Called once per answered request: outcome is `ok` or the error code. */
  onReply?: (verb: string, outcome: string) => void;
}

export function serveApi<A extends ApiDefinition>(nc: NatsConnection, api: A, handlers: Handlers<A>, opts: ServeOptions): Subscription {
  const prefix = `${apiPrefix(api, opts.prefix)}.`;
  return nc.subscribe(`${prefix}*`, {
    queue: opts.queue,
    callback: (err, msg) => {
      if (err) {
        opts.log.error({ err, api: api.area }, `${api.area} api subscription failed`);
        return;
      }
      const verb = msg.subject.slice(prefix.length);
      void handleRequest(api, handlers, verb, msg.data, opts).then((reply) => {
        if (!reply) return;
        opts.onReply?.(verb, reply.ok ? 'ok' : reply.error.code);
        if (!reply.ok) {
          opts.log[reply.error.code === 'internal' ? 'error' : 'info']({ verb, code: reply.error.code, error: reply.error.message }, `${api.area} api request refused`);
        }
        if (!msg.reply) {
          opts.log.warn({ verb }, `${api.area} api request without a reply subject`);
          return;
        }
        msg.respond(JSON.stringify(reply));
      }).catch((err: unknown) => {
        // Answering failed (the connection closed or is draining): the caller sees a timeout.
        opts.log.warn({ err: (err as Error)?.message, verb }, `${api.area} api reply could not be sent`);
      });
    },
  });
}

export interface RequestOptions {
  timeoutMs: number;
  /** The API's subject prefix when it is served elsewhere (see ServeOptions.prefix). */
  prefix?: string | undefined;
}

function transportError(api: ApiDefinition, subject: string, err: unknown): RpcError {
  const e = err as Error;
  const cause = (e as { cause?: unknown }).cause;
  if (e instanceof errors.PermissionViolationError || cause instanceof errors.PermissionViolationError) {
    return new RpcError('forbidden', `${(cause as Error | undefined)?.message ?? e.message}`, undefined, subject);
  }
  const why =
    e instanceof errors.RequestError && e.isNoResponders()
      ? 'no responders'
      : e instanceof errors.TimeoutError || cause instanceof errors.TimeoutError
        ? 'timed out'
        : (e?.message ?? String(err));
  return new RpcError('unavailable', `${api.service} did not answer ${subject}: ${why} (is it running? see sluice status)`, undefined, subject);
}

/** Decode a reply (or throw the remote error) — the client half, transport-free for tests. */
export function decodeReply<A extends ApiDefinition, V extends VerbOf<A>>(api: A, verb: V, subject: string, data: Uint8Array | string): ResultOf<A, V> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
  } catch {
    throw new RpcError('internal', `${api.service} sent a reply on ${subject} that is not JSON`, undefined, subject);
  }
  const reply = RpcReply.safeParse(raw);
  if (!reply.success) throw new RpcError('internal', `${api.service} sent a malformed reply on ${subject} (not the { ok, result | error } envelope)`, undefined, subject);
  if (!reply.data.ok) throw new RpcError(reply.data.error.code, reply.data.error.message, reply.data.error.details, subject);
  const result = api.verbs[verb]!.response.safeParse(reply.data.result);
  if (!result.success) {
    throw new RpcError('internal', `${api.service} sent a ${verb} result that breaks its schema: ${issuesOf(result.error).map((i) => `${i.path}: ${i.message}`).join('; ')}`, undefined, subject);
  }
  return result.data as ResultOf<A, V>;
}

export async function request<A extends ApiDefinition, V extends VerbOf<A>>(
  nc: NatsConnection,
  api: A,
  verb: V,
  body: RequestOf<A, V>,
  opts: RequestOptions,
): Promise<ResultOf<A, V>> {
  const subject = apiSubject(api, verb, opts.prefix);
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, JSON.stringify(body), { timeout: opts.timeoutMs })).data;
  } catch (err) {
    throw transportError(api, subject, err);
  }
  return decodeReply(api, verb, subject, data);
}
