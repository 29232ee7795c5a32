// The one request/reply envelope every Sluice API speaks (policy, learn, identity), and the shape of
// an API definition: its area, the service that answers it, and per verb the zod schemas of the
// request and of the result. Servers and clients (packages/runtime rpc.ts) are built from these
// definitions, so a subject, a request or a reply can never be spelled two ways.
import { z } from 'zod';
import { subjects } from './subjects.ts';

/**
 * Error codes every API may answer with. An API may add its own (the learner forwards the policy
 * service's as `policy_<code>`), so the envelope carries a plain code word, not this enum.
 */
export const RPC_ERROR_CODES = ['bad_request', 'not_found', 'conflict', 'invalid_policy', 'forbidden', 'unavailable', 'internal'] as const;
export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

export const RpcErrorBody = z.object({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case code word'),
  message: z.string(),
  /** invalid_policy: PolicyError[]; bad_request: the zod issues ({ path, message }). */
  details: z.unknown().optional(),
});
export type RpcErrorBody = z.infer<typeof RpcErrorBody>;

export const RpcReply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: RpcErrorBody }),
]);
export type RpcReply = z.infer<typeof RpcReply>;

export interface VerbSchemas {
  request: z.ZodType;
  response: z.ZodType;
}

export interface ApiDefinition<V extends Record<string, VerbSchemas> = Record<string, VerbSchemas>> {
  /** `sluice.api.<area>.<verb>`. */
  area: string;
  /** Who answers, for people reading an error ("policy service did not answer …"). */
  service: string;
  verbs: V;
}

/** An API from its per-verb request and response schemas (the same verbs in both). */
export function defineApi<R extends Record<string, z.ZodType>, S extends { [K in keyof R]: z.ZodType }>(
  area: string,
  service: string,
  requests: R,
  responses: S,
): ApiDefinition<{ [K in keyof R & string]: { request: R[K]; response: S[K] } }> {
  const verbs: Record<string, VerbSchemas> = {};
  for (const verb of Object.keys(requests)) {
    subjects.api(area, verb); // validates the area and verb tokens once, at definition
    verbs[verb] = { request: requests[verb]!, response: responses[verb]! };
  }
  return { area, service, verbs: verbs as { [K in keyof R & string]: { request: R[K]; response: S[K] } } };
}

export type VerbOf<A extends ApiDefinition> = keyof A['verbs'] & string;
export type RequestOf<A extends ApiDefinition, V extends VerbOf<A>> = z.input<A['verbs'][V]['request']>;
export type ParsedRequestOf<A extends ApiDefinition, V extends VerbOf<A>> = z.output<A['verbs'][V]['request']>;
export type ResultOf<A extends ApiDefinition, V extends VerbOf<A>> = z.output<A['verbs'][V]['response']>;

/**
 * The subject prefix an API is served on. `prefix` overrides it for a second deployment sharing
 * one NATS (tests, LEARNER_POLICY_API): `<prefix>.<verb>`.
 */
export function apiPrefix(api: ApiDefinition, prefix?: string): string {
  return prefix ?? `sluice.api.${api.area}`;
}

export function apiSubject(api: ApiDefinition, verb: string, prefix?: string): string {
  return prefix === undefined ? subjects.api(api.area, verb) : `${prefix}.${verb}`;
}

/** A literal subject prefix a deployment may serve an API under (config validation). */
export const ApiPrefix = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a literal subject prefix (tokens joined by ".")');
