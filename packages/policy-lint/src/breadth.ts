// Rules that open far more than their author likely meant: a wildcard over a public suffix (every
// company under co.uk, every site anyone can put on github.io), a CIDR that is the whole address
// space, every port. The suffix knowledge is the Public Suffix List, PRIVATE section included
// (shared-hosting suffixes such as github.io, herokuapp.com), through tldts: never a hand list.
import { parse } from 'tldts';
import type { AllowRule, HostPattern, PortRange } from '@sluice/contracts';
import type { Severity } from './finding.ts';

export interface RuleFinding {
  /** Which field of the rule the finding points at. */
  field: 'host' | 'cidr' | 'ports';
  severity: Severity;
  code: 'broad-wildcard' | 'open-cidr' | 'all-ports';
  message: string;
}

/** Why `base` is a public suffix (ICANN or PRIVATE section), or undefined when it is not one. */
export function publicSuffixOf(base: string): { section: 'ICANN' | 'PRIVATE'; suffix: string } | undefined {
  const opts = { allowPrivateDomains: true, extractHostname: false } as const;
  const own = parse(base, opts);
  if (own.publicSuffix === base && (own.isIcann || own.isPrivate)) {
    return { section: own.isPrivate ? 'PRIVATE' : 'ICANN', suffix: base };
  }
  // A PSL wildcard rule (`*.compute.amazonaws.com`, `*.ck`) makes every label under base a suffix
  // of its own, so `*.base` / `**.base` covers other parties' names even though base is not listed.
  const probe = parse(`sluice-probe.${base}`, opts);
  if (probe.publicSuffix === `sluice-probe.${base}` && (probe.isIcann || probe.isPrivate)) {
    return { section: probe.isPrivate ? 'PRIVATE' : 'ICANN', suffix: `*.${base}` };
  }
  return undefined;
}

/** Do the ranges together cover every port 1-65535? */
export function coversAllPorts(ranges: readonly PortRange[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  let next = 1;
  for (const r of sorted) {
    if (r.from > next) return false;
    next = Math.max(next, r.to + 1);
  }
  return next > 65535;
}

function wildcardFinding(h: HostPattern): RuleFinding | undefined {
  if (h.kind === 'exact') return undefined;
  const ps = publicSuffixOf(h.base);
  if (!ps) return undefined;
  const what =
    ps.section === 'ICANN'
      ? `"${ps.suffix}" is a public suffix (ICANN section of the Public Suffix List): this allows every organisation registered under it`
      : `"${ps.suffix}" is a shared-hosting suffix (PRIVATE section of the Public Suffix List): this allows any site anyone can create there`;
  return {
    field: 'host',
    severity: 'high',
    code: 'broad-wildcard',
    message: `"${h.text}": ${what}; name the hosts you need`,
  };
}

export function breadthFindings(rule: AllowRule): RuleFinding[] {
  const out: RuleFinding[] = [];
  const anyProto = rule.proto === 'any' ? ' over TCP and UDP' : '';
  if ('host' in rule) {
    const w = wildcardFinding(rule.host);
    if (w) out.push(w);
  } else if (rule.cidr.prefix === 0) {
    // ::/0 holds the IPv4-mapped range too: the kernel keys IPv4 as ::ffff:a.b.c.d.
    const space = rule.cidr.family === 4 ? 'every IPv4 address' : 'every IPv6 address and, through the IPv4-mapped range, every IPv4 address';
    out.push({ field: 'cidr', severity: 'high', code: 'open-cidr', message: `${rule.cidr.text} is ${space}: the rule is open to the world${anyProto}` });
  }
  if (coversAllPorts(rule.ports)) {
    const dest = 'host' in rule ? rule.host.text : rule.cidr.text;
    out.push({ field: 'ports', severity: 'medium', code: 'all-ports', message: `ports cover 1-65535: every service on ${dest} is allowed${anyProto}` });
  }
  return out;
}
