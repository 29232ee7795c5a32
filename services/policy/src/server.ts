// NATS wiring of the policy API and of audit publishing. One queue group across replicas, so each
// request is answered once; every request gets a reply, including a malformed one.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AuditEvent, POLICY_API_AREA, subjects } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import type { PolicyApi } from './api.ts';

export const API_QUEUE = 'sluice-policy-api';
const enc = new TextEncoder();

export interface ApiCounters {
  request: (verb: string, outcome: string) => void;
}

export function serveApi(nc: NatsConnection, api: PolicyApi, log: Logger, counters?: ApiCounters): Subscription {
  const prefix = `sluice.api.${POLICY_API_AREA}.`;
  return nc.subscribe(`${prefix}*`, {
    queue: API_QUEUE,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'policy api subscription failed');
        return;
      }
      const verb = msg.subject.slice(prefix.length);
      void api.handle(verb, msg.data).then((reply) => {
        const outcome = reply.ok ? 'ok' : reply.error.code;
        counters?.request(verb, outcome);
        if (!reply.ok) log[reply.error.code === 'internal' ? 'error' : 'info']({ verb, error: reply.error.message }, 'policy api request refused');
        if (!msg.reply) {
          log.warn({ verb }, 'policy api request without a reply subject');
          return;
        }
        msg.respond(enc.encode(JSON.stringify(reply)));
      });
    },
  });
}

/** Audit events go through JetStream (SLUICE_CONTROL) with their id as Nats-Msg-Id: acknowledged, deduplicated. */
export function auditPublisher(js: JetStreamClient) {
  return async (event: AuditEvent): Promise<void> => {
    const e = AuditEvent.parse(event);
    await js.publish(subjects.audit(e.kind), enc.encode(JSON.stringify(e)), { msgID: e.id });
  };
}
