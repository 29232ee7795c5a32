// The sink's dead-letter records: one NDJSON line per rejected document on `sluice.dlq.sink`
// (stream SLUICE_CONTROL). The sink writes them; tests and operators read them back.
import { subjects } from '@sluice/contracts';

export const DLQ_SUBJECT = subjects.dlq('sink');

export interface DlqRecord {
  time: string;
  stage: 'sink';
  source: string;
  subject: string;
  stream_seq: number;
  line: number;
  kind: string;
  reason: string;
  /** The raw input line (or, for an OpenSearch rejection, the document as sent). */
  raw: string;
}
