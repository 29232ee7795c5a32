// How the CLI shows lint findings and what weight they carry: information for `validate` (errors
// only with --strict), a gate for `apply` (a high finding needs --yes).
import { formatFinding, type Finding } from '@sluice/policy-lint';
import { say } from '../command.ts';

export function printFindings(findings: readonly Finding[]): void {
  for (const f of findings) say(formatFinding(f));
}

export const countBy = (findings: readonly Finding[]): string => {
  const n = { high: 0, medium: 0, low: 0 };
  for (const f of findings) n[f.severity]++;
  return `${findings.length} finding(s): ${n.high} high, ${n.medium} medium, ${n.low} low`;
};

/** Why `apply` must not go ahead, or undefined: a high finding needs an explicit --yes. */
export function applyRefusal(findings: readonly Finding[], yes: boolean): string | undefined {
  const high = findings.filter((f) => f.severity === 'high');
  if (high.length === 0 || yes) return undefined;
  const codes = [...new Set(high.map((f) => f.code))].join(', ');
  return `refusing to apply past ${high.length} high finding(s) (${codes}): fix them, acknowledge them in the document (ack: [code]), or re-run with --yes`;
}
