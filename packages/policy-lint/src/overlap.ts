// Duplicate and shadowed rules within one policy: a rule whose every (destination, port, protocol)
// another rule already allows. Harmless to the kernel, but a sign of an edit gone wrong (the port
// change was made to the other copy; the narrow rule someone is about to tighten does nothing).
// Host patterns are compared in the parser's normal form (lower case, no trailing dot), so
// `api.github.com` and `API.GitHub.com.` are the same rule.
import { cidrContains, mappedCidr, type AllowRule, type HostPattern, type PortRange } from '@sluice/contracts';

/** Is every name `inner` matches also matched by `outer`? */
export function patternCovers(outer: HostPattern, inner: HostPattern): boolean {
  if (outer.kind === inner.kind && outer.base === inner.base) return true;
  const below = (name: string, base: string) => name.endsWith(`.${base}`);
  const extraLabels = (name: string, base: string) => name.slice(0, -base.length - 1).split('.').length;
  switch (outer.kind) {
    case 'exact':
      return false;
    case 'one':
      return inner.kind === 'exact' && below(inner.base, outer.base) && extraLabels(inner.base, outer.base) === 1;
    case 'any':
      // `**.b` matches names strictly below b: an exact name below b, or any wildcard at or below b.
      return inner.kind === 'exact' ? below(inner.base, outer.base) : inner.base === outer.base || below(inner.base, outer.base);
  }
}

/** Is every port of `inner` inside the union of `outer`? */
export function portsCover(outer: readonly PortRange[], inner: readonly PortRange[]): boolean {
  return inner.every((r) => {
    let next = r.from;
    for (const o of [...outer].sort((a, b) => a.from - b.from)) {
      if (o.from <= next && o.to >= next) next = o.to + 1;
      if (next > r.to) return true;
    }
    return next > r.to;
  });
}

/** Does rule `outer` allow everything rule `inner` allows? */
export function ruleCovers(outer: AllowRule, inner: AllowRule): boolean {
  if (outer.proto !== 'any' && outer.proto !== inner.proto) return false;
  if (!portsCover(outer.ports, inner.ports)) return false;
  if ('host' in outer && 'host' in inner) return patternCovers(outer.host, inner.host);
  if ('cidr' in outer && 'cidr' in inner) return cidrContains(mappedCidr(outer.cidr), mappedCidr(inner.cidr));
  return false;
}

export interface Overlap {
  index: number;
  code: 'duplicate-rule' | 'shadowed-rule';
  /** The rule that already allows it. */
  by: number;
}

export const ruleText = (r: AllowRule): string => {
  const ports = r.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
  return `${'host' in r ? r.host.text : r.cidr.text} ${ports}/${r.proto}`;
};

/**
 * Each rule allowed entirely by another: a duplicate when the two allow exactly the same (the later
 * one is reported), shadowed when the other allows strictly more.
 */
export function overlaps(allow: readonly AllowRule[]): Overlap[] {
  const out: Overlap[] = [];
  allow.forEach((rule, i) => {
    let found: Overlap | undefined;
    for (let j = 0; j < allow.length && !found; j++) {
      if (j === i || !ruleCovers(allow[j]!, rule)) continue;
      const same = ruleCovers(rule, allow[j]!);
      if (same && j > i) continue; // the later copy carries the finding
      found = { index: i, code: same ? 'duplicate-rule' : 'shadowed-rule', by: j };
    }
    if (found) out.push(found);
  });
  return out;
}
