// Which label values Sluice carries. Everything well-formed up to a hard cap travels exactly (in
// the payload; the subject gets a bounded token). Beyond that a value is not carried at all: the
// attributor drops it from the identity, counts it and sends it to the DLQ with the reason, once
// per identity, so no message ever waits on it. The cap keeps one label from multiplying the size
// of every event of its container (each event carries its labels) past what a NATS message and a
// document sensibly hold.
import { isWellFormedUnicode } from './token.ts';

export const MAX_LABEL_VALUE_BYTES = 16 * 1024;

export const LabelProblemReason = ['label_not_unicode', 'label_too_long'] as const;
export type LabelProblemReason = (typeof LabelProblemReason)[number];

export interface LabelProblem {
  reason: LabelProblemReason;
  /** Human detail naming the size or the offset. */
  detail: string;
}

/** undefined when the value is carried exactly; otherwise why not. */
export function labelValueProblem(value: string): LabelProblem | undefined {
  if (!isWellFormedUnicode(value)) {
    const at = value.search(/\p{Cs}/u);
    return { reason: 'label_not_unicode', detail: `lone UTF-16 surrogate at offset ${at}: no exact UTF-8 form` };
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: skip measuring short values.
  if (value.length * 3 <= MAX_LABEL_VALUE_BYTES) return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_LABEL_VALUE_BYTES) {
    return { reason: 'label_too_long', detail: `${bytes} bytes, over the ${MAX_LABEL_VALUE_BYTES}-byte limit` };
  }
  return undefined;
}
