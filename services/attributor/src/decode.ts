// Stage 1 of a raw batch (batch-pipeline.ts), pure: the batch's records decoded by the kernel
// adapter. Only records the adapter cannot read are dropped, each with its reason for the counters.
import type { RawBatchMeta } from '@sluice/contracts';
import type { Entry } from './identity.ts';
import { RecordError, type AttributableRecord, type RecordCodec } from './record.ts';

export interface DecodedBatch {
  meta: RawBatchMeta;
  /** The records at the codec's stride, and the codec that writes their fields at render. */
  body: Uint8Array;
  view: DataView;
  codec: RecordCodec;
  /** Index i is record i of the batch; undefined where it could not be decoded. */
  records: Array<AttributableRecord | undefined>;
  /** reason → count of records dropped at decode. */
  errors: Map<string, number>;
}

export function decodeBatch(meta: RawBatchMeta, body: Uint8Array, codec: RecordCodec): DecodedBatch {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const records: Array<AttributableRecord | undefined> = new Array(meta.count);
  const errors = new Map<string, number>();
  for (let i = 0; i < meta.count; i++) {
    try {
      records[i] = codec.decode(view, body, i * codec.size, meta.wallOffsetNs);
    } catch (err) {
      const reason = err instanceof RecordError ? err.reason : 'decode_error';
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
      records[i] = undefined;
    }
  }
  return { meta, body, view, codec, records, errors };
}

export type Lookup = (node: string, cgroupId: string, wallMs: number) => Entry | undefined;
