import type { EgressEvent } from '@sluice/contracts';

export const TABLE_HEADER = ['TIME', 'VERDICT', 'PROJECT', 'AGENT', 'DESTINATION', 'PROTO', 'COMM', 'DETAIL'];

/** One human line per event; destination prefers the DNS name and marks stale ones. */
export function eventRow(e: EgressEvent): string[] {
  const host = e.dst_host ? `${e.dst_host}${e.dst_host_stale ? ' (stale)' : ''}` : e.dst_ip;
  const dest = e.family === 'ipv6' && !e.dst_host ? `[${host}]:${e.dst_port}` : `${host}:${e.dst_port}`;
  const detail = [
    e.audit ? 'audit:would-deny' : '',
    e.kind !== 'connect' ? e.kind : '',
    e.bytes_out !== undefined ? `out=${e.bytes_out}B in=${e.bytes_in ?? 0}B` : '',
    e.suppressed_count !== undefined ? `suppressed=${e.suppressed_count}` : '',
    e.attribution === 'unknown' ? `cgroup=${e.cgroup_id}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return [e.time.slice(11, 23), e.verdict, e.project ?? '-', e.agent ?? '-', dest, e.l4_proto, e.comm, detail];
}

export function formatRow(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
}

export const DEFAULT_WIDTHS = [12, 8, 14, 14, 30, 5, 15, 0];
