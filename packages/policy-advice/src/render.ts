// A suggested change as a fragment of the policy document: the `policies` entry it touches, with
// only the keys the change adds (an existing policy's other keys stay as they are). Pure.
import type { SuggestedChange } from '@sluice/contracts';
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';

const FLOW_KEYS = new Set(['ports', 'resolvers']);

export function renderChange(c: Omit<SuggestedChange, 'yaml'>, revision?: number): string {
  const entry: Record<string, unknown> = { name: c.policy };
  if (c.created) Object.assign(entry, { match: c.match, mode: 'enforce', loopback: false });
  if (c.resolver) entry.resolvers = [c.resolver];
  if (c.add) entry.egress = { allow: [c.add] };
  const doc = new Document({ policies: [entry] });
  doc.commentBefore = c.created
    ? ' new policy: append this entry to policies'
    : ` add to policy ${c.policy}${revision ? ` (revision ${revision})` : ''}: merge ${[c.resolver ? 'resolvers' : '', c.add ? 'egress.allow' : ''].filter(Boolean).join(' and ')} into its entry`;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && FLOW_KEYS.has(String(pair.key.value)) && isSeq(pair.value)) pair.value.flow = true;
      if (isScalar(pair.key) && pair.key.value === 'match' && isMap(pair.value)) pair.value.flow = true;
      // One rule per line, as operators write them: "- { host: x, ports: [443], proto: tcp }".
      if (isScalar(pair.key) && pair.key.value === 'allow' && isSeq(pair.value)) for (const it of pair.value.items) if (isMap(it)) it.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
