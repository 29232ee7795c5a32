// Accepting a proposal: the current policy YAML with the additions written into the governing
// policy (or a new policy for the session's selector). The operator's document is edited in place
// through the YAML AST so their comments, anchors and layout survive; the result is validated with
// the same parser the policy service uses before it is ever sent. Pure.
import { formatPolicyError, parsePolicy, type PolicyDocument } from '@sluice/contracts';
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq, type Document } from 'yaml';
import type { Proposal } from './proposal.ts';

export interface MergeOptions {
  /** Switch the governing policy to enforce (the usual next step after learning). */
  enforce?: boolean;
  /** Suggestions (by wildcard host, e.g. "**.example.com") to accept instead of their members. */
  wildcards?: readonly string[];
  /** Suggested resolvers (proposal.resolver_suggestions) to list on purpose. */
  resolvers?: readonly string[];
}

export interface MergeResult {
  yaml: string;
  document: PolicyDocument;
  /** The rules written, as "host|cidr proto ports" lines (what the audit event lists). */
  added: string[];
}

export class MergeError extends Error {
  override name = 'MergeError';
}

function flowRule(doc: Document, target: Record<string, string>, ports: number[], proto: string): YAMLMap {
  const node = doc.createNode({ ...target, ports, proto }) as YAMLMap;
  node.flow = true;
  return node;
}

export function mergeProposal(currentYaml: string | undefined, p: Proposal, opts: MergeOptions = {}): MergeResult {
  const doc = parseDocument(currentYaml ?? 'version: 1\npolicies: []\n');
  if (doc.errors.length) throw new MergeError(`current policy is not valid YAML: ${doc.errors[0]!.message}`);
  let policies = doc.get('policies');
  if (!isSeq(policies)) {
    doc.set('policies', doc.createNode([]));
    policies = doc.get('policies');
  }
  const seq = policies as YAMLSeq;
  let target = seq.items.find((it) => isMap(it) && it.get('name') === p.policy) as YAMLMap | undefined;
  if (!target) {
    if (!p.created) throw new MergeError(`policy "${p.policy}" is no longer in the current document (changed since the diff?)`);
    target = doc.createNode({
      name: p.policy,
      match: { project: p.project, ...(p.agent !== undefined ? { agent: p.agent } : {}) },
      mode: 'learn',
      egress: { allow: [] },
    }) as YAMLMap;
    seq.items.push(target);
  }
  if (opts.enforce) target.set('mode', 'enforce');

  const wildcards = new Map(p.suggestions.filter((s) => opts.wildcards?.includes(s.host)).map((s) => [`${s.host}|${s.proto}`, s]));
  for (const w of opts.wildcards ?? []) {
    if (![...wildcards.keys()].some((k) => k.startsWith(`${w}|`))) throw new MergeError(`"${w}" is not one of the proposal's suggestions`);
  }
  const covered = new Set<string>();
  for (const s of wildcards.values()) for (const m of s.members) covered.add(`${m}|${s.proto}`);

  let egress = target.get('egress');
  if (!isMap(egress)) {
    target.set('egress', doc.createNode({ allow: [] }));
    egress = target.get('egress');
  }
  let allow = (egress as YAMLMap).get('allow');
  if (!isSeq(allow)) {
    (egress as YAMLMap).set('allow', doc.createNode([]));
    allow = (egress as YAMLMap).get('allow');
  }
  const rules = allow as YAMLSeq;
  const added: string[] = [];
  for (const a of p.additions) {
    if (a.host !== undefined && covered.has(`${a.host}|${a.proto}`)) continue;
    const t: Record<string, string> = a.host !== undefined ? { host: a.host } : { cidr: a.cidr! };
    rules.items.push(flowRule(doc, t, a.ports, a.proto));
    added.push(`${a.host ?? a.cidr} ${a.proto} ${a.ports.join(',')}`);
  }
  for (const s of wildcards.values()) {
    rules.items.push(flowRule(doc, { host: s.host }, s.ports, s.proto));
    added.push(`${s.host} ${s.proto} ${s.ports.join(',')}`);
  }
  const suggested = new Set(p.resolver_suggestions.map((r) => r.resolver));
  for (const r of opts.resolvers ?? []) {
    if (!suggested.has(r)) throw new MergeError(`"${r}" is not one of the proposal's suggested resolvers (only a resolver that answered the session's DNS can be accepted)`);
  }
  const resolvers = [...p.resolvers, ...(opts.resolvers ?? [])];
  if (resolvers.length) {
    const existing = target.get('resolvers');
    const list = isSeq(existing) ? existing : (doc.createNode([]) as YAMLSeq);
    if (!isSeq(existing)) target.set('resolvers', list);
    for (const r of resolvers) {
      list.items.push(doc.createNode(r));
      added.push(`resolver ${r}`);
    }
  }

  const yaml = doc.toString({ lineWidth: 0 });
  const parsed = parsePolicy(yaml, { file: '<accepted proposal>' });
  if (!parsed.ok) throw new MergeError(`the merged policy does not validate:\n${parsed.errors.map(formatPolicyError).join('\n')}`);
  return { yaml, document: parsed.document, added };
}
