// How `tail` / `events` print an event: `table` (columns cut to fixed widths with an ellipsis, so a
// long label cannot push the row apart; `--wide` keeps every character), `compact` (one line in the
// words of the stored document's body) and `json` (the event, one per line). Label values are the
// agent's to choose: control and bidi characters are escaped so a value cannot rewrite the terminal.
import type { EgressEvent } from '@sluice/contracts';
import { egressBody } from '@sluice/store';

export const OUTPUT_FORMATS = ['table', 'json', 'compact'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputOptions {
  format: OutputFormat;
  /** table only: no truncation, full timestamps, the node in DETAIL. */
  wide: boolean;
}

export interface Formatter {
  /** Printed once before the first event (table only). */
  header?: string;
  line(e: EgressEvent): string;
}

export const COLUMNS = [
  { title: 'TIME', width: 18 },
  { title: 'VERDICT', width: 8 },
  { title: 'PROJECT', width: 16 },
  { title: 'AGENT', width: 16 },
  { title: 'DESTINATION', width: 34 },
  { title: 'PROTO', width: 5 },
  { title: 'REASON', width: 9 },
  { title: 'COMM', width: 15 },
  { title: 'DETAIL', width: 44 },
] as const;

// C0/C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Control and bidi characters as visible escapes (`\n`, `\u202e`). */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** At most `width` code points, the last one an ellipsis when anything was cut. */
export function truncate(s: string, width: number): string {
  const cps = [...s];
  if (cps.length <= width) return s;
  return width <= 0 ? '' : cps.slice(0, width - 1).join('') + '…';
}

function pad(s: string, width: number): string {
  const n = [...s].length;
  return n >= width ? s : s + ' '.repeat(width - n);
}

function destination(e: EgressEvent): string {
  const host = e.dst_host ? `${e.dst_host}${e.dst_host_stale ? ' (stale)' : ''}` : e.dst_ip;
  return e.family === 'ipv6' && !e.dst_host ? `[${host}]:${e.dst_port}` : `${host}:${e.dst_port}`;
}

function container(e: EgressEvent): string {
  if (e.container_name) return e.container_name.replace(/^\//, '');
  return e.container_id ? e.container_id.slice(0, 12) : '';
}

function detail(e: EgressEvent, wide: boolean): string {
  const c = container(e);
  return [
    e.audit ? 'audit:would-deny' : '',
    e.kind !== 'connect' ? e.kind : '',
    e.rule_id !== 0 ? `rule=${e.rule_id}` : '',
    c ? `ctr=${c}` : '',
    e.bytes_out !== undefined || e.bytes_in !== undefined ? `out=${e.bytes_out ?? 0}B in=${e.bytes_in ?? 0}B` : '',
    e.suppressed_count !== undefined ? `suppressed=${e.suppressed_count}` : '',
    e.attribution === 'unknown' ? `cgroup=${e.cgroup_id}` : '',
    wide ? `node=${e.node}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The table cells of one event, unpadded and untruncated. */
export function eventRow(e: EgressEvent, wide = false): string[] {
  const time = wide ? e.time : e.time.slice(5, 23).replace('T', ' ');
  return [time, e.verdict, e.project ?? '-', e.agent ?? '-', destination(e), e.l4_proto, e.reason, e.comm, detail(e, wide)].map(printable);
}

/** Wide rows carry the full ISO time. */
const WIDE_TIME = 24;

/** Cells padded to the column widths; cut to them (with an ellipsis) unless `wide`. */
export function formatRow(cells: readonly string[], wide: boolean): string {
  return cells
    .map((c, i) => {
      const w = wide && i === 0 ? WIDE_TIME : (COLUMNS[i]?.width ?? 0);
      const cell = wide ? c : truncate(c, w);
      return i === cells.length - 1 ? cell : pad(cell, w);
    })
    .join('  ')
    .trimEnd();
}

export function compactLine(e: EgressEvent): string {
  const extra = [e.rule_id !== 0 ? `rule=${e.rule_id}` : '', container(e) ? `container=${container(e)}` : ''].filter(Boolean);
  return printable(`${e.time} [${e.node}] ${egressBody(e)}${extra.length ? ' ' + extra.join(' ') : ''}`);
}

export function formatter(o: OutputOptions): Formatter {
  switch (o.format) {
    case 'json':
      return { line: (e) => JSON.stringify(e) };
    case 'compact':
      return { line: compactLine };
    case 'table':
      return {
        header: formatRow(
          COLUMNS.map((c) => c.title),
          o.wide,
        ),
        line: (e) => formatRow(eventRow(e, o.wide), o.wide),
      };
  }
}
