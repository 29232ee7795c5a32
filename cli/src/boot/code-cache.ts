// Which V8 code cache belongs to which compiled CLI. V8 accepts cached data for a source of the same
// length without looking at its text, so a cache left over from another build of equal size would
// run that build's bytecode: the key names the exact file (size, mtime) and the Node that made it.
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export function cacheKey(stamp: FileStamp, nodeVersion: string, arch: string): string {
  return `${stamp.size}-${Math.trunc(stamp.mtimeMs)}-${nodeVersion}-${arch}`;
}

/** The cache file holds `key\n` then V8's bytes; anything else (another build, a torn write) is no cache. */
export function readCache(file: Buffer | undefined, key: string): Buffer | undefined {
  if (!file) return undefined;
  const nl = file.indexOf(10);
  if (nl < 0 || file.subarray(0, nl).toString('latin1') !== key) return undefined;
  const data = file.subarray(nl + 1);
  return data.length > 0 ? data : undefined;
}

export function writeCache(key: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${key}\n`, 'latin1'), data]);
}
