// What `sluice run` prints when the command exits: one row per (destination, port, protocol,
// verdict) with a count. Pure, so the table's content and order are tested without a kernel.
import type { EgressEvent } from '@sluice/contracts';

export interface AttemptRow {
  destination: string;
  port: number;
  proto: string;
  verdict: string;
  count: number;
}

export class Attempts {
  private readonly rows = new Map<string, AttemptRow>();
  private readonly counted = new Set<string>();
  readonly totals = { ALLOWED: 0, DENIED: 0, BYPASSED: 0, audit: 0 };

  add(e: EgressEvent): void {
    // An allowed TCP flow may be reported at connect, at close (flow records), or both: count the
    // socket once. Interim records are progress reports of a flow already counted. Suppressed
    // summaries carry a count of attempts the rate limiter folded.
    if (e.kind === 'tcp_interim') return;
    if (e.socket_cookie !== undefined && e.socket_cookie !== '0' && (e.kind === 'connect' || e.kind === 'tcp_close')) {
      if (this.counted.has(e.socket_cookie)) return;
      this.counted.add(e.socket_cookie);
    }
    const n = e.kind === 'suppressed' ? (e.suppressed_count ?? 0) : 1;
    const verdict = e.audit ? `${e.verdict} (would deny)` : e.verdict;
    const destination = e.dst_host ?? e.dst_ip;
    const key = `${destination}\0${e.dst_port}\0${e.l4_proto}\0${verdict}`;
    const row = this.rows.get(key) ?? { destination, port: e.dst_port, proto: e.l4_proto, verdict, count: 0 };
    row.count += n;
    this.rows.set(key, row);
    this.totals[e.verdict] += n;
    if (e.audit) this.totals.audit += n;
  }

  /** Denied first (what the operator must look at), then by destination, port, protocol. */
  table(): AttemptRow[] {
    const rank = (v: string) => (v.startsWith('DENIED') ? 0 : v.includes('would deny') ? 1 : v.startsWith('BYPASSED') ? 2 : 3);
    return [...this.rows.values()].sort(
      (a, b) =>
        rank(a.verdict) - rank(b.verdict) ||
        a.destination.localeCompare(b.destination) ||
        a.port - b.port ||
        a.proto.localeCompare(b.proto),
    );
  }

  liveLine(): string {
    const t = this.totals;
    return `allowed ${t.ALLOWED}  denied ${t.DENIED}  bypassed ${t.BYPASSED}${t.audit ? `  would-deny ${t.audit}` : ''}`;
  }
}

export function formatAttempts(rows: AttemptRow[]): string {
  const header = ['DESTINATION', 'PORT', 'PROTO', 'VERDICT', 'COUNT'];
  const cells = rows.map((r) => [r.destination, String(r.port), r.proto, r.verdict, String(r.count)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
