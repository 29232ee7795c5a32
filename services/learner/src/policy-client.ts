// The learner's view of the policy service: its request/reply API, read verbs only (get). Applying
// is the operator's act through the CLI (see api.ts), never the learner's.
import { POLICY_API, type PolicyIds } from '@sluice/contracts';
import { request, RpcError, type NatsConnection } from '@sluice/runtime';

/** A refusal (or silence) from the policy service, kept apart from the learner's own refusals. */
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
  /** The revision's kernel id table: names the policy and rule an event's ids point at. */
  ids?: PolicyIds;
}

export interface PolicyClient {
  /** undefined when no policy was ever applied. */
  current(): Promise<CurrentPolicy | undefined>;
}

/** `prefix` is the policy API's subject prefix (default sluice.api.policy; a second deployment on one NATS differs). */
export function natsPolicyClient(nc: NatsConnection, timeoutMs: number, prefix?: string): PolicyClient {
  return {
    async current() {
      try {
        const r = await request(nc, POLICY_API, 'get', {}, { timeoutMs, prefix });
        return { revision: r.revision, yaml: r.yaml, ids: r.ids };
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        if (err.code === 'not_found') return undefined;
        throw new PolicyApiError(err.code, err.message, err.details);
      }
    },
  };
}
