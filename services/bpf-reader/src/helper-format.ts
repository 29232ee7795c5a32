// Which stream format to ask of the helper. `sluice-bpf version` lists the formats its `stream`
// writes (stream_formats); a helper from before the packed stream lists none and would refuse
// --packed, so anything but a clear "packed" there means the fixed stream, which every helper
// writes. The packed stream only pays with packed batch bodies (READER_RAW_FORMAT=packed): a fixed
// body would unpack every record again.
import { execFile } from 'node:child_process';
import type { RawBatchEncoding } from '@sluice/contracts';
import type { StreamFormat } from './reader.ts';

export interface HelperFormatChoice {
  format: StreamFormat;
  /** Why, for the start-up log. */
  why: string;
}

/** The helper's answer to `version` → the formats it can stream (none for an older helper or a failure). */
export function streamFormatsOf(versionStdout: string): string[] {
  try {
    const v = JSON.parse(versionStdout.trim().split('\n')[0] ?? '') as { stream_formats?: unknown };
    return Array.isArray(v.stream_formats) ? v.stream_formats.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

export async function chooseStreamFormat(bin: string, body: RawBatchEncoding, wanted: 'auto' | 'fixed', timeoutMs = 3000): Promise<HelperFormatChoice> {
  if (wanted === 'fixed') return { format: 'fixed', why: 'READER_STREAM_FORMAT=fixed' };
  if (body !== 'packed') return { format: 'fixed', why: 'fixed batch bodies (READER_RAW_FORMAT=fixed)' };
  const out = await new Promise<{ stdout: string; err?: Error }>((resolve) =>
    execFile(bin, ['version'], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => resolve({ stdout, err: err ?? undefined })),
  );
  if (out.err) return { format: 'fixed', why: `${bin} version failed (${out.err.message.split('\n')[0]}): the fixed stream every helper writes` };
  const formats = streamFormatsOf(out.stdout);
  if (formats.includes('packed')) return { format: 'packed', why: `${bin} streams packed records` };
  return { format: 'fixed', why: `${bin} lists no packed stream (an older helper): the fixed stream` };
}
