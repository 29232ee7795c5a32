// All findings on a validated document, with file:line:col, minus the ones the document
// acknowledges (`ack:` on the rule or policy). An ack that silences nothing is reported itself, so
// acknowledgements cannot outlive the rule they were written for.
import {
  formatPath,
  parsePolicy,
  type ParsePolicyOptions,
  type PolicyDocument,
  type PolicyError,
  type PolicyLocator,
} from '@sluice/contracts';
import { breadthFindings } from './breadth.ts';
import { sortFindings, type Finding, type Severity } from './finding.ts';
import { overlaps, ruleText } from './overlap.ts';
import { resolverFinding } from './resolvers.ts';

export function lintDocument(doc: PolicyDocument, locate: PolicyLocator, file = '<input>'): Finding[] {
  const out: Finding[] = [];
  const emit = (path: PropertyKey[], severity: Severity, code: string, message: string) => {
    const at = locate(path);
    out.push({ file, path: formatPath(path), line: at.line, column: at.column, severity, code, message });
  };

  doc.policies.forEach((p, pi) => {
    const base = ['policies', pi];
    const policyAck = new Set<string>(p.ack ?? []);
    const usedPolicyAck = new Set<string>();
    const policyFinding = (path: PropertyKey[], severity: Severity, code: string, message: string) => {
      if (policyAck.has(code)) usedPolicyAck.add(code);
      else emit(path, severity, code, `${message} (ack: [${code}] on the policy to accept)`);
    };

    const ruleRaw = p.egress.allow.map(() => [] as Array<{ field: string; severity: Severity; code: string; message: string }>);
    p.egress.allow.forEach((rule, ri) => ruleRaw[ri]!.push(...breadthFindings(rule)));
    for (const o of overlaps(p.egress.allow)) {
      const rule = p.egress.allow[o.index]!;
      const by = p.egress.allow[o.by]!;
      const message =
        o.code === 'duplicate-rule'
          ? `same rule as egress.allow[${o.by}] (${ruleText(by)}): remove one copy`
          : `${ruleText(rule)} is already allowed by egress.allow[${o.by}] (${ruleText(by)}): this rule changes nothing`;
      ruleRaw[o.index]!.push({ field: 'host' in rule ? 'host' : 'cidr', severity: o.code === 'duplicate-rule' ? 'medium' : 'low', code: o.code, message });
    }
    p.egress.allow.forEach((rule, ri) => {
      const path = [...base, 'egress', 'allow', ri];
      const ack = new Set<string>(rule.ack ?? []);
      const used = new Set<string>();
      for (const f of ruleRaw[ri]!) {
        if (ack.has(f.code)) used.add(f.code);
        else emit([...path, f.field], f.severity, f.code, `${f.message} (ack: [${f.code}] on the rule to accept)`);
      }
      for (const code of ack) if (!used.has(code)) emit([...path, 'ack'], 'low', 'unused-ack', `ack "${code}" acknowledges nothing on this rule: remove it`);
    });

    const hosts = p.egress.allow.some((r) => 'host' in r);
    if (p.mode === 'enforce' && hosts && p.resolvers.length === 0) {
      policyFinding(
        [...base, 'name'],
        'medium',
        'no-resolver',
        `policy ${p.name} enforces host rules but lists no resolvers: the kernel trusts only answers from the policy's resolvers, so every host rule is denied (add e.g. resolvers: [127.0.0.11] for Docker's DNS)`,
      );
    }
    p.resolvers.forEach((addr, i) => {
      const f = resolverFinding(addr);
      if (f) policyFinding([...base, 'resolvers', i], f.severity, f.code, f.message);
    });
    for (const code of policyAck) {
      if (!usedPolicyAck.has(code)) emit([...base, 'ack'], 'low', 'unused-ack', `ack "${code}" acknowledges nothing on policy ${p.name}: remove it`);
    }
  });
  return sortFindings(out);
}

export type CheckResult =
  | { ok: true; document: PolicyDocument; findings: Finding[] }
  | { ok: false; errors: PolicyError[] };

/** Validate, then lint: what `sluice policy validate` and `apply` run on a file. */
export function checkPolicy(input: string | Uint8Array, opts: ParsePolicyOptions = {}): CheckResult {
  const r = parsePolicy(input, opts);
  if (!r.ok) return r;
  return { ok: true, document: r.document, findings: lintDocument(r.document, r.locate, opts.file ?? '<input>') };
}
