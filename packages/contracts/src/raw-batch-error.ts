// The error every SLUICE_RAW format check throws (raw-batch.ts headers, raw-batch-packed.ts bodies):
// a consumer terminates and counts such a batch, it can never decode.
export class RawBatchError extends Error {
  constructor(message: string) {
    super(`raw batch: ${message}`);
    this.name = 'RawBatchError';
  }
}
