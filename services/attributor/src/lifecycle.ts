// Messages the attributor publishes about containers on SLUICE_CONTROL: a lifecycle message per
// Docker event (the policy service installs per-container map entries from them) and an audit
// event for containers that keep the ability to open raw/AF_PACKET sockets, which the cgroup hooks
// cannot stop.
import { AuditEvent, lifecycleOf, subjects, type ContainerLifecycle } from '@sluice/contracts';
import type { CachedIdentity } from './identity.ts';
import type { ContainerFacts } from './inspect.ts';

export type LifecycleEvent = ContainerLifecycle['event'];

export interface ControlMessage {
  subject: string;
  msgId: string;
  payload: unknown;
}

export function lifecycleMessage(event: LifecycleEvent, id: CachedIdentity, atMs: number, dedupe: string): ControlMessage {
  return {
    subject: subjects.containers(event),
    msgId: `${id.node}:${id.container_id ?? `cg-${id.cgroup_id}`}:${event}:${dedupe}`,
    payload: lifecycleOf(event, id, atMs),
  };
}

export const RAW_SOCKET_AUDIT_KIND = 'raw_socket_capable';

/** One audit event per container start that keeps CAP_NET_RAW (or is privileged). */
export function rawSocketAudit(id: CachedIdentity, facts: Pick<ContainerFacts, 'privileged' | 'cap_add' | 'cap_drop'>): ControlMessage {
  const eventId = `${id.node}:${id.container_id}:${RAW_SOCKET_AUDIT_KIND}:${id.started_ms}`;
  const subject: Record<string, unknown> = { container_id: id.container_id, node: id.node };
  if (id.agent !== undefined) subject.agent = id.agent;
  if (id.project !== undefined) subject.project = id.project;
  if (id.container_name !== undefined) subject.container_name = id.container_name;
  return {
    subject: subjects.audit(RAW_SOCKET_AUDIT_KIND),
    msgId: eventId,
    payload: AuditEvent.parse({
      id: eventId,
      time: new Date(id.started_ms).toISOString(),
      kind: RAW_SOCKET_AUDIT_KIND,
      actor: 'attributor',
      reason: facts.privileged
        ? 'privileged container: can open raw and AF_PACKET sockets the egress hooks cannot stop'
        : 'container keeps CAP_NET_RAW: can open AF_PACKET sockets the egress hooks cannot stop',
      subject,
      detail: { privileged: facts.privileged, cap_add: facts.cap_add, cap_drop: facts.cap_drop },
    }),
  };
}
