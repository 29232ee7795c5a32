import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseStreamFormat, streamFormatsOf } from './helper-format.ts';

const dir = mkdtempSync(join(tmpdir(), 'helper-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function helper(name: string, script: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('stream format of the helper', () => {
  it('reads the formats from `version`, none from an older or broken answer', () => {
    expect(streamFormatsOf('{"record_version":1,"stream_formats":["fixed","packed"]}\n')).toEqual(['fixed', 'packed']);
    expect(streamFormatsOf('{"record_version":1,"record_size":256,"cgroup_programs":12}')).toEqual([]);
    expect(streamFormatsOf('\u0001\u0002garbage')).toEqual([]);
  });

  it('asks the real helper build for packed records', async () => {
    const bin = resolve(import.meta.dirname, '../../../bpf/build/sluice-bpf');
    expect(await chooseStreamFormat(bin, 'packed', 'auto')).toMatchObject({ format: 'packed' });
  });

  it('falls back to the fixed stream for an older helper, a failing one, one that hangs, or when told to', async () => {
    const older = helper('older', `echo '{"record_version":1,"record_size":256,"cgroup_programs":12}'`);
    expect((await chooseStreamFormat(older, 'packed', 'auto')).format).toBe('fixed');
    expect((await chooseStreamFormat(helper('fails', 'exit 2'), 'packed', 'auto')).format).toBe('fixed');
    expect((await chooseStreamFormat(join(dir, 'missing'), 'packed', 'auto')).format).toBe('fixed');
    expect((await chooseStreamFormat(helper('hangs', 'exec sleep 30'), 'packed', 'auto', 300)).format).toBe('fixed');
    const packed = helper('packed', `echo '{"stream_formats":["fixed","packed"]}'`);
    expect(await chooseStreamFormat(packed, 'packed', 'fixed')).toMatchObject({ format: 'fixed', why: 'READER_STREAM_FORMAT=fixed' });
    expect((await chooseStreamFormat(packed, 'fixed', 'auto')).format).toBe('fixed');
    expect((await chooseStreamFormat(packed, 'packed', 'auto')).format).toBe('packed');
  });
});
