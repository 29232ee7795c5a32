// One lint finding: a valid document that probably does not say what its author meant. Unlike a
// validation error it does not stop the document; `validate --strict` and `apply` decide what
// weight it carries, by severity.
export const SEVERITIES = ['high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  file: string;
  /** YAML path, as in validation errors: policies[0].egress.allow[2].host */
  path: string;
  line: number;
  column: number;
  severity: Severity;
  /** Stable code: what `ack:` names and what scripts match on. */
  code: string;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity} ${f.code}: ${f.message}`;
}

export const severityRank = (s: Severity): number => SEVERITIES.length - SEVERITIES.indexOf(s);

export function sortFindings(list: Finding[]): Finding[] {
  return list.sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
}
