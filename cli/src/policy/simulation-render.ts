// `sluice policy test` output for people: one table per direction, a row per (workload,
// destination, port) with what the candidate does, how often and when. Pure.
import type { ChangeGroup, Simulation } from '@sluice/policy/simulate';

const HEADER = ['WORKLOAD', 'DESTINATION', 'PORT', 'NOW', 'COUNT', 'FIRST', 'LAST'];

const row = (g: ChangeGroup): string[] => [
  `${g.project ?? '-'}/${g.agent ?? '-'}`,
  g.destination === g.addresses[0] && g.addresses.length === 1 ? g.destination : `${g.destination} (${g.addresses.join(', ')})`,
  `${g.port}/${g.proto}`,
  g.outcome === 'AUDIT' ? 'WOULD-DENY(learn)' : g.outcome,
  String(g.count),
  g.first,
  g.last,
];

function table(rows: string[][]): string[] {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [HEADER, ...rows].map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`);
}

function section(title: string, groups: readonly ChangeGroup[]): string[] {
  if (groups.length === 0) return [`${title}: none`];
  const attempts = groups.reduce((n, g) => n + g.count, 0);
  return [`${title}: ${attempts} attempt(s) in ${groups.length} group(s)`, ...table(groups.map(row))];
}

export function renderSimulation(s: Simulation): string[] {
  return [...section('newly denied', s.newly_denied), ...section('newly allowed', s.newly_allowed)];
}
