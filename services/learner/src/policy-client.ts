// The learner's view of the policy service: its request/reply API, read verbs only (get). Applying
// is the operator's act through the CLI (see api.ts), never the learner's.
import { subjects } from '@sluice/contracts';
import type { NatsConnection } from '@sluice/runtime';
import { z } from 'zod';

const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) }),
]);
const Current = z.object({ revision: z.number().int().positive(), yaml: z.string() });

export class PolicyApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PolicyApiError';
  }
}

export interface CurrentPolicy {
  revision: number;
  yaml: string;
}

export interface PolicyClient {
  /** undefined when no policy was ever applied. */
  current(): Promise<CurrentPolicy | undefined>;
}

/** `prefix` is the policy API's subject prefix (default sluice.api.policy; a second deployment on one NATS differs). */
export function natsPolicyClient(nc: NatsConnection, timeoutMs: number, prefix?: string): PolicyClient {
  const call = async (verb: string, body: unknown): Promise<unknown> => {
    const subject = prefix === undefined ? subjects.api('policy', verb) : `${prefix}.${verb}`;
    let raw: string;
    try {
      raw = (await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs })).string();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      throw new PolicyApiError('unavailable', `policy service did not answer ${subject}: ${msg}`);
    }
    const reply = Reply.safeParse(JSON.parse(raw));
    if (!reply.success) throw new PolicyApiError('internal', `policy service sent a malformed reply on ${subject}`);
    if (!reply.data.ok) throw new PolicyApiError(reply.data.error.code, reply.data.error.message, reply.data.error.details);
    return reply.data.result;
  };
  return {
    async current() {
      try {
        return Current.parse(await call('get', {}));
      } catch (err) {
        if (err instanceof PolicyApiError && err.code === 'not_found') return undefined;
        throw err;
      }
    },
  };
}
