// NATS wiring of the policy API and of audit publishing. One queue group across replicas, so each
// request is answered once; every request gets a reply, including a malformed one (the rpc kit).
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AuditEvent, POLICY_API, subjects } from '@sluice/contracts';
import { serveApi, type Logger } from '@sluice/runtime';
import { policyApiError, type PolicyApi } from './api.ts';

export const API_QUEUE = 'sluice-policy-api';
const enc = new TextEncoder();

export interface ApiCounters {
  request: (verb: string, outcome: string) => void;
}

export function servePolicyApi(nc: NatsConnection, api: PolicyApi, log: Logger, counters?: ApiCounters, prefix?: string): Subscription {
  return serveApi(nc, POLICY_API, api.handlers, {
    queue: API_QUEUE,
    log,
    prefix,
    mapError: policyApiError,
    ...(counters ? { onReply: counters.request } : {}),
  });
}

/** Audit events go through JetStream (SLUICE_CONTROL) with their id as Nats-Msg-Id: acknowledged, deduplicated. */
export function auditPublisher(js: JetStreamClient) {
  return async (event: AuditEvent): Promise<void> => {
    const e = AuditEvent.parse(event);
    await js.publish(subjects.audit(e.kind), enc.encode(JSON.stringify(e)), { msgID: e.id });
  };
}
