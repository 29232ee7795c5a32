// What a new document changes relative to the current revision, for humans (`sluice policy diff`
// and the reply to `apply`): policies added/removed/changed, rule lines added/removed, and the
// map operations the node would run (host ops annotated with the host_rules key they write, as
// `sluice-bpf dump host_rules` will show it). Pure.
import type { AllowRule, Policy, PolicyChange, PolicyDocument } from '@sluice/contracts';
import type { Compiled } from './compile.ts';
import { DEFAULT_TIMEOUTS, formatOp, type Op } from './model.ts';

/** The helper line, plus for host rules the map key it lands under (the helper hashes the text). */
export function describeOp(op: Op): string {
  const line = formatOp(op);
  if (op.op !== 'host') return line;
  return `${line}  # host_rules[policy ${op.policy_id}, ${op.rule.match}, name_hash ${op.rule.hash}]`;
}

const ports = (r: AllowRule) => r.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');

/** One line per fact of a policy, so a set difference reads as a rule diff. */
export function policyLines(p: Policy): string[] {
  const lines = [
    `match ${Object.entries(p.match).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`,
    `mode ${p.mode}`,
    `loopback ${p.loopback ? 'allowed' : 'denied'}`,
    ...p.resolvers.map((r) => `resolver ${r}`),
    ...p.egress.allow.map((r) => ('host' in r ? `host ${r.host.text} ${ports(r)} ${r.proto}` : `cidr ${r.cidr.text} ${ports(r)} ${r.proto}`)),
  ];
  return lines;
}

export function describeChange(
  before: { document?: PolicyDocument | undefined; revision: number },
  after: PolicyDocument,
  compiled: Compiled,
  ops: Op[],
): PolicyChange {
  const old = new Map((before.document?.policies ?? []).map((p) => [p.name, policyLines(p)]));
  const next = new Map(after.policies.map((p) => [p.name, policyLines(p)]));
  const change: PolicyChange = {
    before_revision: before.revision,
    policies: { added: [], removed: [], changed: [], unchanged: [] },
    rules: [],
    map_ops: ops.map(describeOp),
    gaps: compiled.gaps,
  };
  for (const [name, lines] of next) {
    const was = old.get(name);
    if (!was) change.policies.added.push(name);
    else if (was.join('\n') === lines.join('\n')) change.policies.unchanged.push(name);
    else change.policies.changed.push(name);
    const had = new Set(was ?? []);
    const has = new Set(lines);
    for (const l of was ?? []) if (!has.has(l)) change.rules.push({ policy: name, change: '-', rule: l });
    for (const l of lines) if (!had.has(l)) change.rules.push({ policy: name, change: '+', rule: l });
  }
  for (const [name, lines] of old) {
    if (next.has(name)) continue;
    change.policies.removed.push(name);
    for (const l of lines) change.rules.push({ policy: name, change: '-', rule: l });
  }
  const flows = (d: PolicyDocument | undefined) => `active_timeout ${d?.flows?.active_timeout ?? DEFAULT_TIMEOUTS.active_ms}ms udp_idle ${d?.flows?.udp_idle ?? DEFAULT_TIMEOUTS.udp_idle_ms}ms`;
  if (flows(before.document) !== flows(after)) change.flows = { before: flows(before.document), after: flows(after) };
  const beforeMode = before.document?.default.mode ?? 'enforce';
  if (beforeMode !== after.default.mode) change.default_mode = { before: beforeMode, after: after.default.mode };
  return change;
}
