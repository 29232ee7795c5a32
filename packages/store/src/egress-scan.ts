// The sink's fast path for egress lines: the line is checked where it lies (line-scan.ts, compiled
// from the EgressEvent schema) and its document written straight from its bytes into the batch's
// buffer: head, body and the line itself as the attributes, with no JSON.parse, no event object, no
// body string. Parsing every line into an object, checking it and building the document from it
// was half the sink's CPU, and the garbage it left most of the rest. The bytes are exactly those
// of the JSON.parse path (document.ts's checkedDocumentHead + egressBody, then the line's bytes):
// egress-scan.test.ts parses the same lines both ways.
import { EgressEvent, flatFieldRules } from '@sluice/contracts';
import type { DocsWriter } from './docs-writer.ts';
import type { Frame } from './writer.ts';
import { observedPart, tailsOf } from './document.ts';
import { LineScan } from './line-scan.ts';

/** The fields the head and body are made of (document.ts egressDocument, egressBody). */
const WANTED = ['id', 'time', 'node', 'verdict', 'kind', 'l4_proto', 'agent', 'project', 'attribution', 'comm', 'pid', 'dst_host', 'dst_ip', 'dst_port', 'dst_host_stale', 'reason', 'audit', 'bytes_in', 'bytes_out'] as const;
// Their indexes in WANTED, as a literal so that the accesses below stay cheap.
const F = {
  id: 0, time: 1, node: 2, verdict: 3, kind: 4, l4_proto: 5, agent: 6, project: 7, attribution: 8, comm: 9,
  pid: 10, dst_host: 11, dst_ip: 12, dst_port: 13, dst_host_stale: 14, reason: 15, audit: 16, bytes_in: 17, bytes_out: 18,
} as const satisfies Record<(typeof WANTED)[number], number>;
for (const [i, k] of WANTED.entries()) if (F[k] !== i) throw new Error(`egress scan: F.${k} is not WANTED's index ${i}`);

const bytes = (s: string) => Buffer.from(s, 'utf8');
const HEAD = bytes('{"@timestamp":"');
const SPACE = bytes(' ');
const OPEN_PAREN = bytes('(');
const CLOSE_PAREN = bytes(')');
const UNKNOWN = bytes('?');
const SLASH = bytes('/');
const OPEN_PID = bytes('[');
const ARROW = bytes('] -> ');
const OPEN_V6 = bytes('[');
const CLOSE_V6 = bytes(']:');
const COLON = bytes(':');
const VIA = bytes(' (');
const STALE = bytes(', stale name');
const REASON = bytes(' reason=');
const AUDIT = bytes(' [learn: would deny]');
const OUT = bytes(' out=');
const ZERO = bytes('0');
const IN = bytes('B in=');
const B = bytes('B');
const QUOTE = bytes('"');
const ALLOWED = bytes('ALLOWED');
const T = 0x74; // the `t` of `true`

/** Node's Buffer has these since 0.x (toString without its argument checks); @types/node does not list them. */
type RawBuffer = Buffer & { latin1Slice(s: number, e: number): string; utf8Slice(s: number, e: number): string };

export class EgressScan {
  private readonly scan: LineScan;
  private readonly at: Int32Array;
  private nodeKey = Buffer.alloc(0);
  private tails = { info: Buffer.alloc(0), warn: Buffer.alloc(0) };
  private observed = '';
  /** From the end of `@timestamp`'s value to the inside of the body's opening quote, for `observed`. */
  private mid = Buffer.alloc(0);
  /** The frame whose `around` parts are below: before the id's bytes (its quote included), after them. */
  private framedBy: Frame | undefined;
  private before = Buffer.alloc(0);
  private after = Buffer.alloc(0);

  private constructor(scan: LineScan) {
    this.scan = scan;
    this.at = scan.at;
  }

  /** The fast path, or undefined when the contract's EgressEvent is not a schema the scanner reads. */
  static create(): EgressScan | undefined {
    const rules = flatFieldRules(EgressEvent);
    return rules === undefined ? undefined : new EgressScan(new LineScan(rules, WANTED));
  }

  /**
   * Write the document of the egress line b[s, e) (no whitespace around it) after its frame, and
   * return its id; undefined, with nothing written, when the scanner is not sure of the line.
   */
  write(w: DocsWriter, b: Buffer, s: number, e: number, observed: string, frame: Frame | undefined): string | undefined {
    if (!this.scan.scan(b, s, e)) return undefined;
    const at = this.at;
    const id = this.text(b, F.id);
    if (observed !== this.observed) {
      this.observed = observed;
      this.mid = bytes(`"${observedPart(observed)}"`);
    }
    const tails = this.tailsFor(b);
    const warn = !this.equals(b, F.verdict, ALLOWED) || b[at[2 * F.audit]!] === T;
    const tail = warn ? tails.warn : tails.info;
    // The body is made of the line's values and a few words: never more than the line and 128 bytes.
    const reserve = 2 * (e - s) + HEAD.length + this.mid.length + tail.length + 128;
    if (frame?.around !== undefined) {
      // The id passed the scan (no escapes, well-formed UTF-8): JSON.stringify(id) is its bytes in quotes.
      if (frame !== this.framedBy) {
        const [before, after] = frame.around('egress');
        this.before = bytes(`${before}"`);
        this.after = bytes(`"${after}`);
        this.framedBy = frame;
      }
      w.start(reserve + this.before.length + this.after.length + at[2 * F.id + 1]! - at[2 * F.id]!);
      w.put(this.before, 0, this.before.length);
      w.put(b, at[2 * F.id]!, at[2 * F.id + 1]!);
      w.put(this.after, 0, this.after.length);
      w.docStart();
    } else w.open(frame === undefined ? '' : frame('egress', id), reserve);
    w.put(HEAD, 0, HEAD.length);
    w.put(b, at[2 * F.time]!, at[2 * F.time + 1]!);
    w.put(this.mid, 0, this.mid.length);
    // document.ts egressBody, piece by piece.
    w.put(b, at[2 * F.verdict]!, at[2 * F.verdict + 1]!);
    w.put(SPACE, 0, 1);
    w.put(b, at[2 * F.kind]!, at[2 * F.kind + 1]!);
    w.put(SPACE, 0, 1);
    w.put(b, at[2 * F.l4_proto]!, at[2 * F.l4_proto + 1]!);
    w.put(SPACE, 0, 1);
    if (at[2 * F.agent]! < 0 && at[2 * F.project]! < 0) {
      w.put(OPEN_PAREN, 0, 1);
      w.put(b, at[2 * F.attribution]!, at[2 * F.attribution + 1]!);
      w.put(CLOSE_PAREN, 0, 1);
    } else {
      if (at[2 * F.project]! >= 0) w.put(b, at[2 * F.project]!, at[2 * F.project + 1]!);
      else w.put(UNKNOWN, 0, 1);
      w.put(SLASH, 0, 1);
      if (at[2 * F.agent]! >= 0) w.put(b, at[2 * F.agent]!, at[2 * F.agent + 1]!);
      else w.put(UNKNOWN, 0, 1);
    }
    w.put(SPACE, 0, 1);
    w.put(b, at[2 * F.comm]!, at[2 * F.comm + 1]!);
    w.put(OPEN_PID, 0, 1);
    w.put(b, at[2 * F.pid]!, at[2 * F.pid + 1]!);
    w.put(ARROW, 0, ARROW.length);
    const host = at[2 * F.dst_host]! >= 0 ? F.dst_host : F.dst_ip;
    if (this.hasColon(b, host)) {
      w.put(OPEN_V6, 0, 1);
      w.put(b, at[2 * host]!, at[2 * host + 1]!);
      w.put(CLOSE_V6, 0, 2);
    } else {
      w.put(b, at[2 * host]!, at[2 * host + 1]!);
      w.put(COLON, 0, 1);
    }
    w.put(b, at[2 * F.dst_port]!, at[2 * F.dst_port + 1]!);
    if (at[2 * F.dst_host]! >= 0) {
      w.put(VIA, 0, VIA.length);
      w.put(b, at[2 * F.dst_ip]!, at[2 * F.dst_ip + 1]!);
      if (at[2 * F.dst_host_stale]! >= 0 && b[at[2 * F.dst_host_stale]!] === T) w.put(STALE, 0, STALE.length);
      w.put(CLOSE_PAREN, 0, 1);
    }
    w.put(REASON, 0, REASON.length);
    w.put(b, at[2 * F.reason]!, at[2 * F.reason + 1]!);
    if (b[at[2 * F.audit]!] === T) w.put(AUDIT, 0, AUDIT.length);
    if (at[2 * F.bytes_in]! >= 0 || at[2 * F.bytes_out]! >= 0) {
      w.put(OUT, 0, OUT.length);
      if (at[2 * F.bytes_out]! >= 0) w.put(b, at[2 * F.bytes_out]!, at[2 * F.bytes_out + 1]!);
      else w.put(ZERO, 0, 1);
      w.put(IN, 0, IN.length);
      if (at[2 * F.bytes_in]! >= 0) w.put(b, at[2 * F.bytes_in]!, at[2 * F.bytes_in + 1]!);
      else w.put(ZERO, 0, 1);
      w.put(B, 0, 1);
    }
    w.put(QUOTE, 0, 1);
    w.put(tail, 0, tail.length);
    w.put(b, s, e);
    w.end(true);
    return id;
  }

  private text(b: Buffer, f: number): string {
    const raw = b as RawBuffer;
    const [s, e] = [this.at[2 * f]!, this.at[2 * f + 1]!];
    return this.scan.wide[f] ? raw.utf8Slice(s, e) : raw.latin1Slice(s, e);
  }

  private equals(b: Buffer, f: number, word: Buffer): boolean {
    const s = this.at[2 * f]!;
    if (this.at[2 * f + 1]! - s !== word.length) return false;
    for (let j = 0; j < word.length; j++) if (b[s + j] !== word[j]) return false;
    return true;
  }

  private hasColon(b: Buffer, f: number): boolean {
    for (let i = this.at[2 * f]!; i < this.at[2 * f + 1]!; i++) if (b[i] === 0x3a) return true;
    return false;
  }

  /** The node's tails as bytes; events of a batch come from one node, so the last is kept. */
  private tailsFor(b: Buffer): { info: Buffer; warn: Buffer } {
    if (this.equals(b, F.node, this.nodeKey)) return this.tails;
    const node = this.text(b, F.node);
    const t = tailsOf(node);
    this.nodeKey = bytes(node);
    this.tails = { info: bytes(t.info), warn: bytes(t.warn) };
    return this.tails;
  }
}
