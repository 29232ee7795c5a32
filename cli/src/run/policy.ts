// The policy `sluice run` runs under. With --policy FILE the operator's document is applied as is.
// Otherwise the current document gets, if it has none yet, a learn-mode policy selecting exactly
// this run's project/agent: the command runs (everything allowed, would-deny attempts audited)
// and the learner can propose its allowlist. The edit keeps the operator's comments and layout,
// and is applied with expect_revision so a concurrent change is never overwritten.
import { isMap, isSeq, parseDocument, YAMLMap } from 'yaml';
import { parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { UsageError } from '../command.ts';

export interface Selector {
  project: string;
  agent: string;
}

const EMPTY = 'version: 1\ndefault: { mode: enforce }\npolicies: []\n';

export function selects(doc: PolicyDocument, sel: Selector): { name: string; mode: string } | undefined {
  const p = doc.policies.find((p) => p.match.project === sel.project && p.match.agent === sel.agent);
  return p ? { name: p.name, mode: p.mode } : undefined;
}

/** The current document plus a learn policy for `sel`, or undefined when one already selects it. */
export function withRunPolicy(currentYaml: string | undefined, sel: Selector, name: string): string | undefined {
  const text = currentYaml ?? EMPTY;
  const parsed = parsePolicy(text, { file: 'current revision' });
  if (!parsed.ok) throw new UsageError(`the stored policy no longer validates: ${parsed.errors[0]?.reason ?? 'unknown error'}`, 1);
  if (selects(parsed.document, sel)) return undefined;
  const doc = parseDocument(text);
  let policies = doc.get('policies');
  if (!isSeq(policies)) {
    doc.set('policies', doc.createNode([]));
    policies = doc.get('policies');
  }
  const taken = new Set(parsed.document.policies.map((p) => p.name));
  let unique = name;
  for (let i = 2; taken.has(unique); i++) unique = `${name}-${i}`;
  // loopback: false — a command in a host cgroup shares the host's loopback (NATS, Redis, the Docker
  // API on TCP): reaching it is egress worth seeing and learning like any other.
  const entry = doc.createNode({ name: unique, match: { project: sel.project, agent: sel.agent }, mode: 'learn', loopback: false });
  if (isMap(entry)) (entry as YAMLMap).commentBefore = ' added by sluice run: learn mode for this run';
  if (isSeq(policies)) {
    policies.flow = false;
    policies.items.push(entry);
  }
  const out = doc.toString();
  const check = parsePolicy(out, { file: 'run policy' });
  if (!check.ok) throw new Error(`run policy does not validate: ${check.errors.map((e) => e.reason).join('; ')}`);
  return out;
}
